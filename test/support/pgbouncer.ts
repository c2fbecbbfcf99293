import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './child-process.ts';
import { waitUntil } from './wait-until.ts';

export interface PgBouncer {
  /** `url` with host and port swapped for the pooler's. */
  pooledUrl(url: string): string;
  port: number;
  /** Everything PgBouncer wrote (its log goes to stderr). */
  logs: string[];
  /** SHOW POOLS / SHOW STATS … on PgBouncer's admin console. */
  admin(command: string): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

export interface PgBouncerOptions {
  /** Server connections per (database, user): keep it below what the processes' pools ask for. */
  defaultPoolSize: number;
}

const BINARY = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((p) => existsSync(p)) ?? 'pgbouncer';

/**
 * Debian's PgBouncer (1.18, installed by scripts/ensure-test-tools.sh) in front of the test
 * PostgreSQL, in transaction mode, as teams run it before a managed database. Every database
 * name maps to the same name on the server (`*`), so each test file's cloned database works.
 * Clients authenticate with `trust`; PgBouncer logs in to PostgreSQL with the server URL's
 * credentials. Nothing is ignored among startup parameters: a client that sends
 * `statement_timeout` as one is refused, as 1.18 refuses it in production.
 */
export async function startPgBouncer(serverUrl: string, opts: PgBouncerOptions): Promise<PgBouncer> {
  if (
    BINARY === 'pgbouncer' &&
    !(process.env.PATH ?? '').split(':').some((d) => existsSync(path.join(d, 'pgbouncer')))
  )
    throw new Error('PgBouncer is not installed: run `bash scripts/ensure-test-tools.sh` (as root) first');
  const server = new URL(serverUrl);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tally-pgbouncer-'));
  const port = await freePort();
  const user = decodeURIComponent(server.username);
  const password = decodeURIComponent(server.password);
  const quote = (v: string) => `'${v.replace(/'/g, "''")}'`;
  const ini = [
    '[databases]',
    `* = host=${server.hostname} port=${server.port} user=${user} password=${quote(password)}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    'auth_type = trust',
    `auth_file = ${path.join(dir, 'userlist.txt')}`,
    'admin_users = pgbouncer_admin',
    'pool_mode = transaction',
    `default_pool_size = ${opts.defaultPoolSize}`,
    'reserve_pool_size = 0',
    'max_client_conn = 2000',
    // PostgreSQL's own default: the pooled processes must cope with a queue, not a refusal.
    'query_wait_timeout = 120',
    'server_check_delay = 0',
    // Root (this project's CI) must name the user PgBouncer drops to; it refuses to run as root.
    ...(process.getuid?.() === 0 ? ['user = postgres'] : []),
  ].join('\n');
  const iniFile = path.join(dir, 'pgbouncer.ini');
  await writeFile(iniFile, `${ini}\n`, { mode: 0o600 });
  // trust still admits only the users auth_file names.
  await writeFile(path.join(dir, 'userlist.txt'), `"pgbouncer_admin" ""\n"${user}" ""\n`, { mode: 0o600 });
  if (process.getuid?.() === 0) {
    const { uid, gid } = await postgresIds();
    await chmod(dir, 0o700);
    for (const f of [dir, iniFile, path.join(dir, 'userlist.txt')]) await chown(f, uid, gid);
  }
  const logs: string[] = [];
  const proc: ChildProcess = spawn(BINARY, [iniFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const s of [proc.stdout, proc.stderr])
    s?.on('data', (d: Buffer) => logs.push(...d.toString().split('\n')));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const pg = (await import('pg')).default;
  const admin = async (command: string) => {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'pgbouncer_admin', database: 'pgbouncer' });
    await client.connect();
    try {
      // No parameters: the simple protocol, the only one the admin console speaks.
      return (await client.query<Record<string, unknown>>(command)).rows;
    } finally {
      await client.end();
    }
  };
  await waitUntil(
    async () => {
      if (gone) throw new Error(`pgbouncer exited at start:\n${logs.join('\n')}`);
      return admin('SHOW VERSION').then(
        () => true,
        () => false,
      );
    },
    { what: 'PgBouncer to accept connections', timeoutMs: 10_000 },
  );
  return {
    port,
    logs,
    admin,
    pooledUrl: (url: string) => {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    stop: async () => {
      if (!gone) proc.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const { execFileSync } = await import('node:child_process');
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}
