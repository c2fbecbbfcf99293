import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import {
  JobChangeListener,
  LISTEN_KEEPALIVE_INITIAL_DELAY_MS,
  listenClientConfig,
} from '../../src/api/job-change-listener.ts';
import { entryName, removeEntriesOfDeadProcesses } from '../../src/lib/dead-process-entries.ts';
import { thisProcess } from '../../src/lib/process-identity.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';
import { waitUntil } from '../support/wait-until.ts';

/** What must not leak or be trusted: health texts, a silent LISTEN socket, another container's pids. */

async function admin(sql: string, params: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: inject('adminUrl') });
  await client.connect();
  try {
    await client.query(sql, params);
  } finally {
    await client.end();
  }
}

describe('/healthz and /readyz with the database down', () => {
  let tally: TestTally;
  beforeAll(async () => {
    tally = await startTestTally({ role: 'api' });
  });
  afterAll(async () => {
    await admin(`alter database ${tally.database.name} allow_connections true`);
    await tally?.stop();
  });

  it('answer 503 in the error shape with no driver or server text', async () => {
    expect((await fetch(`${tally.url}/healthz`)).status).toBe(200);
    // Refuse new connections and cut the open ones: every probe now meets a server error
    // whose text names the database ("database \"tally_t_…\" is not currently accepting
    // connections", "terminating connection due to administrator command").
    const name = tally.database.name;
    await admin(`alter database ${name} allow_connections false`);
    await admin('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name]);
    for (const route of ['/healthz', '/readyz']) {
      const res = await waitUntil(
        async () => {
          const r = await fetch(`${tally.url}${route}`);
          return r.status === 503 ? r : undefined;
        },
        { what: `${route} to say 503` },
      );
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({
        error: { code: 'SERVICE_UNAVAILABLE', message: 'The database is unreachable; retry shortly.' },
      });
      expect(res.headers.get('retry-after')).toBe('5');
      for (const leak of [
        name,
        'accepting connections',
        'terminating',
        'administrator',
        'ECONNREFUSED',
        '5432',
      ])
        expect(text).not.toContain(leak);
    }
  });
});

describe('the LISTEN connection keeps itself alive', () => {
  let database: TestDatabase;
  let listener: JobChangeListener;
  beforeAll(async () => {
    database = await createTestDatabase();
    listener = new JobChangeListener(database.url, createLogger('silent'));
    await listener.start();
  });
  afterAll(async () => {
    await listener?.close();
    await database?.drop();
  });

  it('asks pg for TCP keepalive with a 10 s first probe', () => {
    expect(listenClientConfig('postgres://x/y')).toMatchObject({
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    expect(LISTEN_KEEPALIVE_INITIAL_DELAY_MS).toBe(10_000);
  });

  it('the live socket has the kernel keepalive timer (ss -o)', async () => {
    // The listener's client port, as PostgreSQL sees it.
    const { rows } = await database.sql.query<{ client_port: number }>(
      "select client_port from pg_stat_activity where application_name = 'tally-listen' and datname = current_database()",
    );
    expect(rows).toHaveLength(1);
    const port = rows[0]!.client_port;
    // Our end of that connection: local port = its client port. Without SO_KEEPALIVE ss
    // prints no timer for an idle established socket.
    const line = execFileSync('ss', ['-tnoH', 'state', 'established', `( sport = :${port} )`], {
      encoding: 'utf8',
    });
    expect(line).toMatch(/timer:\(keepalive,/);
  });
});

describe('the spill sweep trusts no pid of another container', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'tally-sweep-test-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  const LEASE_MS = 24 * 3600 * 1000;
  // A pid that surely belongs to no process here now: a child that has exited.
  const deadPid = spawnSync(process.execPath, ['-e', '']).pid;
  const otherContainer = { host: 'other-host/boot/pid:[4026532999]', pid: deadPid, instance: randomUUID() };

  async function entry(name: string, ageMs = 0): Promise<string> {
    const dir = path.join(root, name);
    await mkdir(dir, { mode: 0o700 });
    await writeFile(path.join(dir, 'run-0.bin'), Buffer.alloc(16), { mode: 0o600 });
    if (ageMs > 0) {
      const at = new Date(Date.now() - ageMs);
      await utimes(path.join(dir, 'run-0.bin'), at, at);
      await utimes(dir, at, at);
    }
    return name;
  }

  it('removes dead processes of this namespace, keeps another container’s until its lease ends', async () => {
    const ourDead = await entry(entryName({ ...thisProcess, pid: deadPid }));
    const ourPredecessor = await entry(entryName(thisProcess)); // same pid, at start-up: a predecessor's
    const ourAlive = await entry(entryName({ ...thisProcess, pid: process.ppid }));
    // Pid `deadPid` is dead HERE; in the other container it may be a running analysis.
    const theirsFresh = await entry(entryName(otherContainer));
    const theirsHour = await entry(entryName(otherContainer), 3600 * 1000);
    const theirsStale = await entry(entryName(otherContainer), LEASE_MS + 60_000);
    // Names of the older form carry no namespace: the same rule as another container's.
    const legacyFresh = await entry(`${deadPid}-${randomUUID()}`);
    const legacyStale = await entry(`${deadPid}-${randomUUID()}`, LEASE_MS + 60_000);
    await writeFile(path.join(root, 'notes.txt'), 'not ours');

    const removed = await removeEntriesOfDeadProcesses(root, { leaseMs: LEASE_MS });
    expect(removed).toBe(4);
    expect((await readdir(root)).sort()).toEqual(
      [ourAlive, theirsFresh, theirsHour, legacyFresh, 'notes.txt'].sort(),
    );
    for (const gone of [ourDead, ourPredecessor, theirsStale, legacyStale])
      expect(await readdir(root)).not.toContain(gone);
  });

  it('a recent write inside an old directory keeps it (the lease is renewed by use)', async () => {
    const name = await entry(entryName(otherContainer), LEASE_MS + 60_000);
    await writeFile(path.join(root, name, 'run-1.bin'), Buffer.alloc(16)); // written now
    await removeEntriesOfDeadProcesses(root, { leaseMs: LEASE_MS });
    expect(await readdir(root)).toContain(name);
  });
});
