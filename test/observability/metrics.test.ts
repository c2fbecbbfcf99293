import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReadinessCheck } from '../../src/observability/readiness.ts';
import { freePort } from '../support/child-process.ts';
import { postCsv, trpcQuery, waitForFinal } from '../support/http.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';

// /metrics and /readyz on a real Tally: counters move with real uploads and jobs, the
// gauge reads the database, and readiness follows the migrations table.

/** Value of one sample in Prometheus text, e.g. `tally_uploads_total{result="created"}`. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
}

let tally: TestTally;
let owner: pg.Pool;
let releaseStall: () => void = () => undefined;

beforeAll(async () => {
  const stall = new Promise<void>((resolve) => (releaseStall = resolve));
  tally = await startTestTally({
    workerHooks: {
      wrapSource: (_jobId, source) =>
        (async function* () {
          for await (const chunk of source) {
            if (chunk.toString().includes('stall-me')) await stall;
            yield chunk;
          }
        })(),
    },
  });
  owner = tally.database.sql; // closed by tally.stop()
});
afterAll(async () => {
  releaseStall();
  await tally?.stop();
});

describe('GET /metrics', () => {
  it('moves the upload, job and row counters with a real upload', async () => {
    const before = await scrape(tally.url);
    const csv = 'date,amount\n2024-01-01,10\n2024-01-02,20\n2024-01-03,-5\n';
    const { body } = await postCsv(tally.url, csv);
    const final = await waitForFinal(tally.url, body.jobId);
    expect(final.state).toBe('completed');
    const after = await scrape(tally.url);

    const delta = (series: string) => sample(after, series) - sample(before, series);
    expect(delta('tally_uploads_total{result="created"}')).toBe(1);
    expect(delta('tally_upload_bytes_total')).toBe(Buffer.byteLength(csv));
    expect(delta('tally_jobs_finished_total{outcome="completed"}')).toBe(1);
    expect(delta('tally_rows_processed_total')).toBe(3);
    expect(delta('tally_job_duration_seconds_count{outcome="completed"}')).toBe(1);
    expect(delta('tally_job_queue_wait_seconds_count')).toBe(1);
    // Latency is labelled by route pattern, never by raw URL (job ids would explode it).
    expect(
      delta('tally_http_request_duration_seconds_count{method="POST",route="/api/jobs",status_code="202"}'),
    ).toBe(1);
    // Status polls have their own route (src/api/trpc/status-route.ts); the rest are tRPC's.
    expect(after).toMatch(/method="GET",route="\/trpc\/jobs\.status",status_code="200"/);
    expect(after).not.toContain(body.jobId);
    expect(after).toMatch(/^tally_process_cpu_user_seconds_total /m); // default metrics
  });

  it('reads queued and running jobs from the database at scrape time', async () => {
    const { body } = await postCsv(tally.url, 'date,amount,customer\n2024-01-01,1,stall-me\n');
    for (let state = ''; state !== 'running';) {
      state = (await trpcQuery(tally.url, 'jobs.status', { jobId: body.jobId })).body.result.data.state;
    }
    // A queued job no worker of this process made: the gauge counts the table, not events.
    await owner.query(
      `insert into jobs (id, owner, state, filename, bytes, sha256, compression, delimiter)
       values (gen_random_uuid(), 'someone', 'queued', 'x.csv', 1, '', 'none', ',')`,
    );
    const text = await scrape(tally.url);
    expect(sample(text, 'tally_jobs{state="running"}')).toBe(1);
    expect(sample(text, 'tally_jobs{state="queued"}')).toBe(1);
    releaseStall();
    await waitForFinal(tally.url, body.jobId);
    await owner.query(`delete from jobs where owner = 'someone'`);
    const later = await scrape(tally.url);
    expect(sample(later, 'tally_jobs{state="running"}')).toBe(0);
    expect(sample(later, 'tally_jobs{state="queued"}')).toBe(0);
  });
});

describe('GET /readyz', () => {
  it('is 503 while a migration of this build is missing from the database, 200 once applied', async () => {
    // Fresh process state: readiness caches "migrated" only after it has seen it.
    const other = await startTestTally({ role: 'api' });
    const sql = other.database.sql; // closed by other.stop()
    try {
      await sql.query(`delete from kysely_migration where name = '0002_admin_views'`);
      const pending = await fetch(`${other.url}/readyz`);
      expect(pending.status).toBe(503);
      expect((await pending.json()).error.message).toContain('0002_admin_views');
      await sql.query(
        `insert into kysely_migration (name, timestamp) values ('0002_admin_views', now()::text)`,
      );
      const ready = await fetch(`${other.url}/readyz`);
      expect(ready.status).toBe(200);
    } finally {
      await other.stop();
    }
  });

  it('reports an unreachable database', async () => {
    const port = await freePort(); // nothing listens there
    const kysely = new Kysely<any>({
      dialect: new PostgresDialect({
        pool: new pg.Pool({
          connectionString: `postgres://x:y@127.0.0.1:${port}/none`,
          connectionTimeoutMillis: 2000,
        }),
      }),
    });
    try {
      const state = await createReadinessCheck(kysely)();
      expect(state).toMatchObject({
        ready: false,
        reason: expect.stringContaining('database is unreachable'),
      });
    } finally {
      await kysely.destroy();
    }
  });
});

describe('worker-only process', () => {
  it('serves /metrics and /readyz on METRICS_PORT', async () => {
    const port = await freePort();
    const worker = await startTestTally({ role: 'worker', env: { METRICS_PORT: String(port) } });
    try {
      const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('tally_jobs{state="queued"}');
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    } finally {
      await worker.stop();
    }
    // Closed with the process.
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });
});
