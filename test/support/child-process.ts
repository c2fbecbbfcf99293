import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { trackRunning } from './running-instances.ts';

const root = path.resolve(import.meta.dirname, '..', '..');

export interface ChildTally {
  proc: ChildProcess;
  pid: number;
  logs: string[];
  /** Resolves with the first log line matching `pattern`. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL the whole process group (with `group`), else the process. */
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Starts a real Tally OS process (`src/main.ts`, or the hooked test entry) and collects
 * its JSON log lines. `group` puts it in its own process group so a kill -9 takes its
 * children (the embedded PostgreSQL) down with it, as a crash of the host would.
 */
export function spawnTally(
  script: 'src/main.ts' | 'test/support/tally-process.ts',
  args: string[],
  env: Record<string, string>,
  opts: { group?: boolean } = {},
): ChildTally {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.group ?? false,
  });
  const logs: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const onLine = (line: string) => {
    logs.push(line);
    for (const w of [...waiters]) {
      if (w.pattern.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  for (const stream of [proc.stdout, proc.stderr]) {
    let buffered = '';
    stream?.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      lines.forEach(onLine);
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  // Children are often killed by the file's afterAll: checked when the file ends.
  const forget = trackRunning(
    `a Tally process (${script} ${args.join(' ')}, pid ${proc.pid})`,
    () => {
      killProcess('SIGKILL');
      return exited;
    },
    true,
  );
  void exited.then(forget);
  const killProcess = (signal: NodeJS.Signals) => {
    try {
      if (opts.group && proc.pid) process.kill(-proc.pid, signal);
      else proc.kill(signal);
    } catch {
      // already gone
    }
  };
  return {
    proc,
    pid: proc.pid ?? -1,
    logs,
    exited,
    waitForLog: (pattern, timeoutMs = 60_000) => {
      const seen = logs.find((l) => pattern.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `no log line matching ${pattern} within ${timeoutMs} ms:\n${logs.slice(-20).join('\n')}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({ pattern, resolve: (l) => (clearTimeout(timer), resolve(l)) });
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`process exited before logging ${pattern}:\n${logs.slice(-20).join('\n')}`));
        });
      });
    },
    kill: (signal = 'SIGKILL') => killProcess(signal),
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
