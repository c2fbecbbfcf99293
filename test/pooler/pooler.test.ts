import os from 'node:os';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, spawnTally, type ChildTally } from '../support/child-process.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { analyseUpload, postCsv, trpcMutation, trpcQuery, waitForFinal } from '../support/http.ts';
import { startPgBouncer, type PgBouncer } from '../support/pgbouncer.ts';
import { generateCsv } from '../support/sources.ts';
import { waitUntil } from '../support/wait-until.ts';

// docs/reference.md, "Processes and databases": DATABASE_URL through PgBouncer 1.18 in transaction mode, with fewer server
// connections than the processes' pools ask for; LISTEN_DATABASE_URL direct. Two API and two
// worker processes (each pool asks for up to DB_POOL_MAX = 10, pg-boss 4 more) share
// POOL_SIZE server connections. Anything that relied on a session across statements (a named
// prepared statement, statement_timeout as a startup parameter, a session advisory lock,
// LISTEN) fails here: refused at connect, "prepared statement … does not exist", or a long
// poll that hears nothing.

const POOL_SIZE = 5;
const HEARTBEAT_SECONDS = 10;

let database: TestDatabase;
let bouncer: PgBouncer;
let env: Record<string, string>;
const children: ChildTally[] = [];
const apis: string[] = [];

const start = async (role: 'api' | 'worker', args: string[] = [], extra: Record<string, string> = {}) => {
  const child = spawnTally('test/support/tally-process.ts', [role, ...args], { ...env, ...extra });
  children.push(child);
  await child.waitForLog(/"msg":"tally started"/);
  return child;
};
const stop = async (child: ChildTally) => {
  child.kill('SIGTERM');
  await child.exited;
};

beforeAll(async () => {
  database = await createTestDatabase();
  bouncer = await startPgBouncer(database.url, { defaultPoolSize: POOL_SIZE });
  env = {
    DATABASE_URL: bouncer.pooledUrl(database.url),
    LISTEN_DATABASE_URL: database.url,
    HOST: '127.0.0.1',
    // One slot a worker: on this machine the first worker processes, one per core, act on
    // new jobs' NOTIFYs and those after them poll (src/worker/wake-policy.ts).
    WORKER_CONCURRENCY: '1',
    JOB_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS),
  };
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    await start('api', [], { PORT: String(port) });
    apis.push(`http://127.0.0.1:${port}`);
  }
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  await bouncer?.stop();
  await database?.drop();
});

/** Server connections PgBouncer holds for the test database, all states. */
async function serverConnections(): Promise<number> {
  const pools = await bouncer.admin('SHOW POOLS');
  const mine = pools.filter((p) => p.database === database.name);
  return mine.reduce(
    (n, p) =>
      n +
      ['sv_active', 'sv_idle', 'sv_used', 'sv_tested', 'sv_login'].reduce((m, k) => m + Number(p[k] ?? 0), 0),
    0,
  );
}

/** The sources of the functions made for repeated statements (lib/plan-functions.ts). */
async function planFunctionSources(): Promise<string[]> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ src: string }>(
      `select prosrc as src from pg_proc where proname like 'tally_plan_%'`,
    );
    return rows.map((r) => r.src);
  } finally {
    await client.end();
  }
}

describe('Tally through PgBouncer in transaction mode', () => {
  // Its own timeout: four processes through PgBouncer work 24 uploads: over 30 s under load 15.
  it('scale-out: two APIs and two workers run 24 uploads to completion, each once', async () => {
    const workers = [await start('worker'), await start('worker')];
    const jobs = 24;
    const files = Array.from({ length: jobs }, (_, i) => generateCsv(2_000 + i));
    const uploads = await Promise.all(
      files.map((f, i) => postCsv(apis[i % 2]!, f.csv, { filename: `f${i}.csv` })),
    );
    expect(uploads.map((u) => u.status)).toEqual(Array(jobs).fill(202));
    const ids = uploads.map((u) => u.body.jobId as string);
    // Each API answers for jobs the other accepted: one database behind the pooler.
    const finals = await Promise.all(ids.map((id, i) => waitForFinal(apis[(i + 1) % 2]!, id, {}, 60_000)));
    expect(finals.map((f) => [f.state, f.attempts])).toEqual(Array(jobs).fill(['completed', 1]));
    for (const [i, id] of ids.entries()) {
      const result = await trpcQuery(apis[i % 2]!, 'jobs.result', { jobId: id });
      expect(result.body.result.data.currencies[0].totals.revenue).toBe(files[i]!.revenueCents / 100);
    }
    const ranBy = workers.map((w) => w.logs.filter((l) => l.includes('"msg":"attempt started"')).length);
    expect(ranBy.reduce((a, b) => a + b, 0)).toBe(jobs);
    // Both act on every NOTIFY where the machine has a core for each.
    expect(ranBy.filter((n) => n > 0).length, `jobs per worker: ${ranBy.join(', ')}`).toBe(
      Math.min(workers.length, os.availableParallelism()),
    );
    // The processes' pools asked for far more; PgBouncer held them to its pool.
    expect(await serverConnections()).toBeLessThanOrEqual(POOL_SIZE);
    // Statements sent again keep their plan in a function (lib/plan-functions.ts): the
    // uploads' insert and the analysis queue's claim among them.
    const sources = await planFunctionSources();
    expect(sources.some((s) => s.includes('insert into jobs'))).toBe(true);
    expect(sources.some((s) => s.includes("name = 'tally-analysis'") && s.includes('update jobs set'))).toBe(
      true,
    );
    await Promise.all(workers.map(stop));
  }, 90_000);

  // Its own timeout: ~26 s under load 15.
  it('upload → result and re-run give the same figures; a long poll hears the change (LISTEN direct)', async () => {
    const worker = await start('worker');
    const { csv } = generateCsv(5_000);
    const first = await analyseUpload(apis[0]!, csv);
    const [{ id: jobId }] = (await trpcQuery(apis[1]!, 'jobs.list', { limit: 1 })).body.result.data.items;
    const rerun = await trpcMutation(apis[1]!, 'jobs.rerun', { jobId, options: {} });
    expect(rerun.status, JSON.stringify(rerun.body)).toBe(200);
    const rerunId = rerun.body.result.data.jobId as string;
    // Long poll on the other API for the re-run's next change: it answers on the NOTIFY, well
    // before its 20 s wait (a LISTEN through the pooler would hear nothing and wait it out).
    const status = (await trpcQuery(apis[0]!, 'jobs.status', { jobId: rerunId })).body.result.data;
    if (status.state !== 'completed') {
      const asked = Date.now();
      const next = await trpcQuery(apis[0]!, 'jobs.status', {
        jobId: rerunId,
        waitMs: 20_000,
        knownVersion: status.version,
      });
      expect(next.body.result.data.version).toBeGreaterThan(status.version);
      expect(Date.now() - asked).toBeLessThan(15_000);
    }
    await waitForFinal(apis[0]!, rerunId);
    const again = (await trpcQuery(apis[0]!, 'jobs.result', { jobId: rerunId })).body.result.data;
    expect(again.currencies).toEqual(first.currencies);
    await stop(worker);
  }, 60_000);

  // Its own timeout: a worker process killed and its job retried: over 30 s under load 15.
  it('cancel stops a running job; a kill -9 of a worker mid-job costs a retry, same figures', async () => {
    const { csv, revenueCents } = generateCsv(40_000); // ~1.2 MB: ~3 s through a throttled worker
    const waitForBytes = (jobId: string, bytes: number) =>
      waitUntil(
        async () => {
          const { rows } = await database.sql.query('select bytes_processed from jobs where id = $1', [
            jobId,
          ]);
          return Number(rows[0]?.bytes_processed) > bytes;
        },
        { what: `job ${jobId} past ${bytes} bytes`, intervalMs: 20 },
      );
    const slow = await start('worker', ['--throttle', '4096:10']);

    const toCancel = (await postCsv(apis[1]!, csv)).body.jobId as string;
    await waitForBytes(toCancel, 100_000);
    const cancelled = await trpcMutation(apis[0]!, 'jobs.cancel', { jobId: toCancel });
    expect(cancelled.body.result.data.state).toBe('cancelled');
    expect((await waitForFinal(apis[1]!, toCancel)).state).toBe('cancelled');

    const victim = (await postCsv(apis[0]!, csv)).body.jobId as string;
    await waitForBytes(victim, 200_000);
    slow.kill('SIGKILL');
    await slow.exited;
    const rescuer = await start('worker');
    const status = await waitForFinal(apis[1]!, victim, {}, 90_000);
    expect(status).toMatchObject({ state: 'completed', attempts: 2, error: null });
    const result = (await trpcQuery(apis[0]!, 'jobs.result', { jobId: victim })).body.result.data;
    expect(result.currencies[0].totals.revenue).toBe(revenueCents / 100);
    expect(await serverConnections()).toBeLessThanOrEqual(POOL_SIZE);
    await stop(rescuer);
  }, 90_000);

  it('LISTEN runs on the direct URL: the API listeners and pg-boss listeners', async () => {
    const worker = await start('worker');
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ application_name: string; query: string }>(
        `select application_name, query from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid()
            and (query ilike 'listen%' or query ilike '%pg_listening_channels%')`,
      );
      // Each API's job-change listener and each pg-boss's listener (3 processes) hold a session
      // whose last statement is their LISTEN or its heartbeat. Through the pooler that server
      // connection would have gone on to run other clients' statements.
      const names = rows.map((r) => r.application_name).sort();
      expect(names.filter((n) => n === 'tally-listen')).toHaveLength(2);
      expect(names.filter((n) => n === 'tally-boss-listen')).toHaveLength(3);
    } finally {
      await admin.end();
      await stop(worker);
    }
  });
});
