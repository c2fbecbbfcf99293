import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startTally, type Tally } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/db/embedded-postgres.ts';
import { createLogger } from '../../src/logger.ts';
import { waitUntil } from '../support/wait-until.ts';
import { freePort } from '../support/child-process.ts';
import { postCsv, trpcQuery, waitForFinal } from '../support/http.ts';
import { generateCsv, throttledSource } from '../support/sources.ts';

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
    tally = await startTally({
      role: 'all',
      config,
      databaseUrl: server.url,
      log,
      workerHooks: { wrapSource: throttledSource(4096, 10) },
    });
    const url = tally.url ?? '';
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();

    // 1. Connections killed under a running job and a long-polling client.
    const { csv, revenueCents } = generateCsv(30_000);
    const { body } = await postCsv(url, csv);
    await waitUntil(
      async () => {
        const status = await trpcQuery(url, 'jobs.status', { jobId: body.jobId });
        return status.body.result.data.progress.bytesProcessed > 0;
      },
      { what: 'the job to make progress' },
    );
    const longPoll = trpcQuery(url, 'jobs.status', { jobId: body.jobId, waitMs: 20_000, knownVersion: 0 });
    for (let i = 0; i < 3; i++) {
      await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity
                          where datname = current_database() and pid <> pg_backend_pid()`);
      await sleep(300);
    }
    expect((await longPoll).status).toBe(200);
    const done = await waitForFinal(url, body.jobId, {}, 60_000);
    expect(done.state).toBe('completed');
    const result = await trpcQuery(url, 'jobs.result', { jobId: body.jobId });
    expect(result.body.result.data.currencies[0].totals.revenue).toBe(revenueCents / 100);
    await admin.end();

    // 2. PostgreSQL goes away: /healthz answers 503, then 200 once it is back.
    expect(await health(url)).toBe(200);
    await server.stop();
    expect(await health(url)).toBe(503);
    server = await startEmbeddedPostgres(dir, log, { port: pgPort });
    let healthy = 0;
    for (let i = 0; i < 100 && healthy !== 200; i++) {
      healthy = await health(url);
      if (healthy !== 200) await sleep(200);
    }
    expect(healthy).toBe(200);

    // 3. And work flows again without a restart of Tally.
    const after = await postCsv(url, generateCsv(100).csv);
    expect(after.status).toBe(202);
    expect((await waitForFinal(url, after.body.jobId, {}, 60_000)).state).toBe('completed');
  });
});
