import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { PgBoss } from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANALYSIS_QUEUE } from '../../src/queue/boss.ts';
import { ClaimExtensions } from '../../src/queue/claim-extension.ts';
import { AttemptStartsOnClaim } from '../../src/worker/start-on-claim.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startOneConnectionBoss } from '../support/one-connection-boss.ts';

// A claim must cost the same however much history the tables hold. pg-boss keeps completed
// entries for a day (deleteAfterSeconds) and Tally its jobs for JOB_RETENTION_DAYS, so a
// busy queue's tables hold far more finished rows than waiting ones. Repeated statements go
// as named prepared statements (src/lib/statement-names.ts), whose plan PostgreSQL makes
// once per connection; a claim planned that way while the table was small joined its entry
// by reading every entry of the queue (src/queue/claim-extension.ts, keyedClaim). The
// entries one claim reads, counted by PostgreSQL's own statistics, say which plan ran.

let database: TestDatabase;
let boss: PgBoss;
let stats: pg.Client;
/** The worker's claims of the analysis queue start each job's attempt (worker/start-on-claim.ts). */
const starts = new AttemptStartsOnClaim(0);

beforeAll(async () => {
  database = await createTestDatabase();
  // One connection, kept for the whole test, as a worker's pool keeps its connections.
  const claims = new ClaimExtensions();
  claims.extend(ANALYSIS_QUEUE, starts);
  boss = await startOneConnectionBoss(database.url, claims);
  stats = new pg.Client({ connectionString: database.url });
  await stats.connect();
});
afterAll(async () => {
  await stats?.end();
  await boss?.stop({ graceful: false, close: true });
  await database?.drop();
});

/** Index entries (and rows read by scans) of `table` so far (pg_stat_user_tables, _indexes). */
async function entriesRead(schema: string, table: string): Promise<number> {
  // The boss's connection reports its counts when it next goes idle: force that now.
  await boss.getDb().executeSql('select pg_stat_force_next_flush()');
  await stats.query('select pg_stat_clear_snapshot()');
  const { rows } = await stats.query<{ n: string }>(
    `select coalesce((select sum(idx_tup_read) from pg_stat_user_indexes where schemaname = $1 and relname = $2), 0)
          + (select coalesce(seq_tup_read, 0) from pg_stat_user_tables where schemaname = $1 and relname = $2) as n`,
    [schema, table],
  );
  return Number(rows[0]?.n);
}

/** Job rows, as an upload leaves them (their bytes are not needed: nothing reads them here). */
async function queuedJobs(ids: string[], state = 'queued'): Promise<void> {
  await stats.query(
    `insert into jobs (id, owner, state, filename, bytes, sha256, compression, options, delimiter, finished_at)
     select id, 'owner', $2, 'a.csv', 1, repeat('0', 64), 'none', '{}', ',',
            case when $2 = 'queued' then null else now() end
       from unnest($1::uuid[]) id`,
    [ids, state],
  );
}

describe("pg-boss's claim", () => {
  it('reads a few entries, not the history of the queue or of the jobs, once the tables have grown', async () => {
    // Claims while the table is small: what a new deployment's first jobs do.
    for (let i = 0; i < 8; i++) {
      const jobId = randomUUID();
      await queuedJobs([jobId]);
      await boss.send(ANALYSIS_QUEUE, { jobId });
      const [job] = await boss.fetch(ANALYSIS_QUEUE);
      expect(starts.take(job!.id)?.started.id).toBe(jobId);
      await boss.complete(ANALYSIS_QUEUE, job!.id);
    }
    // A day of completed entries, as pg-boss keeps them.
    await stats.query(
      `insert into pgboss.job_common (name, data, state, policy, started_on, completed_on)
       select $1, jsonb_build_object('jobId', 'done-' || g), 'completed', 'standard', now(), now()
         from generate_series(1, 5000) g`,
      [ANALYSIS_QUEUE],
    );
    // And as many finished jobs. (What a stale plan may still read is the jobs in flight:
    // the claim finds its job among them by their partial index, never by the history.)
    await queuedJobs(
      Array.from({ length: 5000 }, () => randomUUID()),
      'completed',
    );
    const jobId = randomUUID();
    await queuedJobs([jobId]);
    await boss.send(ANALYSIS_QUEUE, { jobId });

    const before = [await entriesRead('pgboss', 'job_common'), await entriesRead('public', 'jobs')];
    const [job] = await boss.fetch(ANALYSIS_QUEUE);
    const entries = (await entriesRead('pgboss', 'job_common')) - before[0]!;
    const jobs = (await entriesRead('public', 'jobs')) - before[1]!;

    expect(job?.data).toEqual({ jobId });
    expect(starts.take(job!.id)?.started.id).toBe(jobId);
    // The waiting entry found by its index, then its row and its job: a handful of entries.
    // The claim as pg-boss writes it, planned on the small table, read all 5,008.
    expect(entries).toBeLessThan(100);
    expect(jobs).toBeLessThan(100);
  });
});

describe("the worker's claim", () => {
  it('says whether more entries were waiting than it took, so a worker fetches again only then', async () => {
    const jobs = [randomUUID(), randomUUID()];
    await queuedJobs(jobs);
    for (const jobId of jobs) await boss.send(ANALYSIS_QUEUE, { jobId });
    const [first] = await boss.fetch(ANALYSIS_QUEUE);
    const [second] = await boss.fetch(ANALYSIS_QUEUE);
    expect(starts.done(first!.id)).toBe(true); // the second was waiting
    expect(starts.done(second!.id)).toBe(false); // nothing after it
    // Unknown entries (a claim that started nothing of ours): fetch again, as before.
    expect(starts.done(randomUUID())).toBe(true);
    for (const job of [first!, second!]) await boss.complete(ANALYSIS_QUEUE, job.id);
  });
});
