import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { youngGenerationOption } from '../../src/roles/young-generation.ts';
import { freePort, spawnTally, type ChildTally } from '../../test/support/child-process.ts';

export { freePort, spawnTally, type ChildTally };

/** Peak resident memory of a live process (VmHWM), in MiB. */
export function peakRssMib(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
  return Math.round(kb / 1024);
}

/** Resets a live process's peak (VmHWM) to its current RSS, so the next step's peak is its own. */
export function resetPeakRss(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** Starts `npm start -- <role>` as its own process against `databaseUrl`. */
export async function startRole(
  role: 'api' | 'worker',
  databaseUrl: string,
  env: Record<string, string> = {},
): Promise<{ child: ChildTally; url: string }> {
  const port = await freePort();
  const child = spawnTally('src/main.ts', [role], {
    DATABASE_URL: databaseUrl,
    // A worker has no API: METRICS_PORT gives it /healthz, which answers once its queue
    // work is registered (src/roles/worker-role.ts starts that server last).
    ...(role === 'worker' ? { METRICS_PORT: String(port) } : { PORT: String(port) }),
    LOG_LEVEL: 'warn',
    UPLOAD_RATE_LIMIT_PER_MINUTE: '1000000',
    ...env,
    // As docker-compose.yml and package.json's start scripts run each role (BENCH_PROF's
    // options added, not in its place).
    NODE_OPTIONS: [youngGenerationOption(role), env.NODE_OPTIONS].filter(Boolean).join(' '),
  });
  // LOG_LEVEL=warn hides 'tally started': wait for the process to answer instead. A fixed
  // 1.5 s for a worker was not enough: with tracing on, one took ~3 s of CPU to start (bench
  // T1, 2026-12-05, before src/telemetry dropped its loader hook), and a run that began before
  // it was ready counted that start-up as the cost of tracing.
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${role} did not start:\n${child.logs.slice(-10).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, url };
}

export async function stopAll(children: ChildTally[]): Promise<void> {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => c.exited));
}

/**
 * Runs a bench script (a path from the repository's root) in a node process started as a
 * worker process is (its young generation, nothing of this process's state), and resolves
 * with the JSON of the last line it prints; every line before it goes to `log`.
 */
export function runWorkerLikeScript<T>(
  script: string,
  args: readonly string[],
  log: (line: string) => void = () => {},
): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [youngGenerationOption('worker'), '--import', 'tsx', script, ...args],
      {
        cwd: path.resolve(import.meta.dirname, '../..'),
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let last: string | undefined;
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (last !== undefined) log(last);
      last = line;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0 && last !== undefined) resolve(JSON.parse(last) as T);
      else reject(new Error(`${script} exited with ${code}`));
    });
  });
}
