import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startTally, type Tally } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/db/embedded-postgres.ts';
import { createLogger } from '../../src/logger.ts';
import { waitUntil } from '../support/wait-until.ts';
import { freePort } from '../support/child-process.ts';
import { postCsv, trpcQuery, waitForFinal } from '../support/http.ts';
import { holdSource } from '../support/held-source.ts';
import { generateCsv } from '../support/sources.ts';

// A PostgreSQL of this test's own, so it can be cut and restarted on the same port
// without disturbing the other test files.

let dir: string | undefined;
let server: EmbeddedPostgresHandle | undefined;
let tally: Tally | undefined;
afterAll(async () => {
  await tally?.close().catch(() => undefined);
  await server?.stop().catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function health(url: string): Promise<number> {
  try {
    return (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(8000) })).status;
  } catch {
    return 0;
  }
}

describe('database outages', () => {
  // Its own timeout: restarts a PostgreSQL server: ~32 s measured under load 16.
  it('survives killed connections and a PostgreSQL restart; /healthz says 503 meanwhile', async () => {
    const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
    dir = await mkdtemp(path.join(os.tmpdir(), 'tally-outage-'));
    const pgPort = await freePort();
    server = await startEmbeddedPostgres(dir, log, { port: pgPort });
    const config = loadConfig({
      PORT: '0',
      DATABASE_URL: server.url,
      WORKER_CONCURRENCY: '1',
      JOB_HEARTBEAT_SECONDS: '10',
    });
    // The first attempt is held mid-file (the worker busy, WORKER_CONCURRENCY 1), so the
    // second job waits queued and its version stays put while the test cuts connections.
    const held = holdSource();
    tally = await startTally({
      role: 'all',
      config,
      databaseUrl: server.url,
      log,
      workerHooks: { wrapSource: held.wrapSource },
    });
    const url = tally.url ?? '';
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();

    // 1. A long poll rides out a read its connection was cut under, and killed connections
    //    under a running job and the listener.
    const { csv, revenueCents } = generateCsv(30_000);
    const running = (await postCsv(url, csv)).body.jobId as string;
    await held.atHold;
    const waiting = (await postCsv(url, generateCsv(100).csv)).body.jobId as string;
    const known = (await trpcQuery(url, 'jobs.status', { jobId: waiting })).body.result.data;
    expect(known.state).toBe('queued');
    const longPoll = trpcQuery(url, 'jobs.status', {
      jobId: waiting,
      waitMs: 20_000,
      knownVersion: known.version,
    });
    await waitUntil(() => tally!.changes!.waiting === 1, { what: 'the long poll to wait' });

    // Its next read blocks on a lock; the test kills that read's connection.
    await admin.query('begin');
    await admin.query('lock table jobs in access exclusive mode');
    // From another session: a NOTIFY is delivered when its transaction commits.
    const waker = new pg.Client({ connectionString: server.url });
    await waker.connect();
    await waker.query(`select pg_notify('tally_job_changed', $1)`, [`${waiting}:wake`]);
    await waker.end();
    const cut = await waitUntil(
      async () => {
        const { rows } = await admin.query(
          `select pg_terminate_backend(pid) as cut from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock' and application_name = 'tally-requests'`,
        );
        return rows.length > 0 ? rows : undefined;
      },
      { what: "the long poll's re-read to wait on the lock", intervalMs: 20 },
    );
    expect(cut).toEqual([{ cut: true }]);
    await admin.query('commit');

    // Every connection cut, the listener's and the running job's included.
    for (let i = 0; i < 3; i++) {
      await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity
                          where datname = current_database() and pid <> pg_backend_pid()`);
      await waitUntil(() => tally!.changes!.connected, { what: 'the listener to reconnect' });
    }
    held.release();
    // The poll answers the waiting job's first change (a worker takes it), not an error.
    const answered = await longPoll;
    expect(answered.status, JSON.stringify(answered.body)).toBe(200);
    expect(answered.body.result.data.version).toBeGreaterThan(known.version);
    const done = await waitForFinal(url, running, {}, 60_000);
    expect(done.state).toBe('completed');
    const result = await trpcQuery(url, 'jobs.result', { jobId: running });
    expect(result.body.result.data.currencies[0].totals.revenue).toBe(revenueCents / 100);
    expect((await waitForFinal(url, waiting, {}, 60_000)).state).toBe('completed');
    await admin.end();

    // 2. PostgreSQL goes away: /healthz answers 503, then 200 once it is back.
    expect(await health(url)).toBe(200);
    await server.stop();
    expect(await health(url)).toBe(503);
    server = await startEmbeddedPostgres(dir, log, { port: pgPort });
    await waitUntil(async () => (await health(url)) === 200, {
      what: '/healthz to answer 200 once PostgreSQL is back',
      timeoutMs: 30_000,
      intervalMs: 200,
    });

    // 3. And work flows again without a restart of Tally.
    const after = await postCsv(url, generateCsv(100).csv);
    expect(after.status).toBe(202);
    expect((await waitForFinal(url, after.body.jobId, {}, 60_000)).state).toBe('completed');
  }, 90_000);
});
