import { Kysely, PostgresDialect, sql, type CompiledQuery } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteExpiredJobs } from '../../src/db/jobs/delete-expired-jobs.ts';
import { endAttempts } from '../../src/db/jobs/end-attempts.ts';
import { findJobResult } from '../../src/db/jobs/find-job.ts';
import { foldStateCounts } from '../../src/db/jobs/fold-state-counts.ts';
import { findStrandedJobs } from '../../src/db/jobs/find-stranded-jobs.ts';
import { listJobs } from '../../src/db/jobs/list-jobs.ts';
import { sweepFinishedFiles } from '../../src/db/jobs/sweep-files.ts';
import type { Database } from '../../src/db/schema.ts';
import { jobStatusColumns } from '../../src/jobs/job-status.ts';
import { ANALYSIS_QUEUE, BOSS_SCHEMA } from '../../src/queue/boss.ts';
import { fairShareSendOptions } from '../../src/queue/fair-share.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

// A million jobs: the statements a request or a maintenance pass runs must find their
// rows through an index, not by reading the table. Checked on 100,000 finished jobs (one owner
// with most of them) and fresh statistics: the plans the planner picks for a table this size are
// the ones it keeps at a million (the bench measures the times: bench/million-jobs). The
// statements are captured from the real functions through kysely's log, then EXPLAINed.

const FINISHED = 100_000;
let database: TestDatabase;
let pool: pg.Pool;
let kysely: Kysely<Database>;
const captured: CompiledQuery[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.url, max: 2 });
  kysely = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => void captured.push(event.query),
  });
  // Owner a: ~98k finished jobs over the last days (UUIDv7-like ids: time-ordered), 100 of
  // them failed, 5 queued, 2 running; owner b: every 50th job. One job in 7 still has its bytes.
  await pool.query(`
    insert into jobs (id, owner, state, filename, bytes, sha256, compression, delimiter, created_at, started_at, finished_at, file_deleted_at, result)
    select (lpad(to_hex(1700000000000 + i::bigint * 1000), 12, '0') || '7000800000000000' || lpad(to_hex(i), 4, '0'))::uuid,
           case when i % 50 = 0 then 'b' else 'a' end,
           case when i % 1000 = 7 then 'failed' when i % 2 = 0 then 'completed' else 'cancelled' end, 'f.csv', 1000, 'x', 'none', ',',
           t, t, t, case when i % 7 = 0 then null else t end, '{}'
      from generate_series(1, ${FINISHED}) i,
           lateral (select now() - interval '1 day' - (${FINISHED} - i) * interval '1 second' as t) ts`);
  await pool.query(`
    insert into jobs (id, owner, state, filename, bytes, sha256, compression, delimiter)
    select gen_random_uuid(), 'a', case when i <= 2 then 'running' else 'queued' end, 'f.csv', 1, 'x', 'none', ','
      from generate_series(1, 7) i`);
  await pool.query('analyze jobs');
});

afterAll(async () => {
  await kysely?.destroy();
  await database?.drop();
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

/**
 * How a statement reads `jobs`: its scan nodes on the table ("Index Scan jobs_pkey"), plus
 * "Sort" wherever the plan sorts (a page that has to sort has read every candidate row).
 */
async function jobsAccess(query: { sql: string; parameters: readonly unknown[] }): Promise<string[]> {
  const { rows } = await pool.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
    `explain (format json) ${query.sql}`,
    query.parameters as unknown[],
  );
  const out: string[] = [];
  const walk = (n: PlanNode) => {
    if (n['Relation Name'] === 'jobs' && n['Node Type'].includes('Scan'))
      out.push(`${n['Node Type']}${n['Index Name'] ? ` ${n['Index Name']}` : ''}`);
    if (n['Node Type'].includes('Sort')) out.push('Sort');
    n.Plans?.forEach(walk);
  };
  walk(rows[0]!['QUERY PLAN'][0]!.Plan);
  return out;
}

const last = () => captured.at(-1)!;
/** One row found by its id: the primary key, or (owner, id) — the owner is in the SQL too. */
const BY_ID = /^Index Scan (jobs_pkey|jobs_owner_id_idx)$/;
/** Newest first for one owner, no sort: (owner, id desc), or the primary key walked backwards. */
const NEWEST_FIRST = /^Index Scan (Backward )?(jobs_owner_id_idx|jobs_pkey)$/;
const ownerA = 'a';

describe('plans over 100,000 finished jobs', () => {
  it('jobs.status reads one row by primary key', async () => {
    const text = `select ${jobStatusColumns.join(', ')} from jobs where id = $1 and owner = $2`;
    const { rows } = await pool.query<{ id: string }>('select id from jobs limit 1');
    const plan = await jobsAccess({ sql: text, parameters: [rows[0]!.id, ownerA] });
    expect(plan).toHaveLength(1);
    expect(plan[0]).toMatch(BY_ID);
  });

  it('jobs.result reads one row by primary key', async () => {
    const { rows } = await pool.query<{ id: string }>('select id from jobs limit 1');
    await findJobResult(kysely, ownerA, rows[0]!.id);
    const plan = await jobsAccess(last());
    expect(plan).toHaveLength(1);
    expect(plan[0]).toMatch(BY_ID);
  });

  it('jobs.list: first page, a page 50 deep, and a state tab walk the owner’s index', async () => {
    for (const owner of ['a', 'b']) {
      const first = await listJobs(kysely, owner, { limit: 20 });
      const firstPlan = await jobsAccess(last());
      expect(firstPlan, `first page of ${owner}: ${firstPlan.join(', ')}`).toHaveLength(1);
      expect(firstPlan[0]).toMatch(NEWEST_FIRST);
      let cursor = first.nextCursor ?? undefined;
      for (let page = 1; page < 50; page++)
        cursor = (await listJobs(kysely, owner, { limit: 20, cursor })).nextCursor!;
      const deepPlan = await jobsAccess(last());
      expect(deepPlan, `page 50 of ${owner}: ${deepPlan.join(', ')}`).toHaveLength(1);
      expect(deepPlan[0]).toMatch(NEWEST_FIRST);
    }
    // A state tab on a rare state (100 failed among 98,000): (owner, state, id desc), no sort,
    // rather than walking the owner's other jobs to find 20 of them.
    await listJobs(kysely, ownerA, { limit: 20, state: 'failed' });
    expect(await jobsAccess(last())).toEqual(['Index Scan jobs_owner_state_id_idx']);
  });

  it('an upload’s fair-share count reads only the owner’s jobs in flight', async () => {
    await fairShareSendOptions(kysely, ownerA);
    expect((await jobsAccess(last()))[0]).toMatch(/Index (Only )?Scan jobs_owner_in_flight_idx/);
  });

  it('the maintenance pass: file retention, abandoned jobs, job retention', async () => {
    await sweepFinishedFiles(kysely, 24 * 365 * 100);
    const files = await jobsAccess(last());
    expect(files).toContain('Index Scan jobs_file_retention_idx');
    expect(files.filter((n) => !n.startsWith('Index'))).toEqual([]);
    await kysely.transaction().execute((trx) => findStrandedJobs(trx, 100));
    // (Inside a transaction: the statement before its `commit`.)
    const abandoned = await jobsAccess(captured.findLast((q) => q.sql.includes('for update of j'))!);
    // The rescuer reads only waiting and running rows (a partial index), never the finished ones.
    expect(
      abandoned.filter((n) => !n.startsWith('Index')),
      abandoned.join(', '),
    ).toEqual([]);
    await deleteExpiredJobs(kysely, 36_500);
    const retention = await jobsAccess(last());
    expect(retention).toContain('Index Scan jobs_finished_at_idx');
    expect(retention.filter((n) => !n.startsWith('Index'))).toEqual([]);
  });

  it('tally_admin.queue_health reads the live rows and the last hour through indexes', async () => {
    const plan = await jobsAccess({ sql: 'select * from tally_admin.queue_health', parameters: [] });
    expect(plan.length, plan.join(', ')).toBeGreaterThan(0);
    expect(
      plan.filter((n) => !n.includes('Index')),
      plan.join(', '),
    ).toEqual([]);
    // The all-time counts come from the folded ledger, exact: 49,950 + 100 + 49,950 finished.
    await foldStateCounts(kysely);
    const { rows } = await pool.query('select * from tally_admin.queue_health');
    expect(rows[0]).toMatchObject({ queued: '5', running: '2', completed: '50000', failed: '100' });
    expect(Number(rows[0].cancelled)).toBe(FINISHED - 50_000 - 100);
    const { rows: ledger } = await pool.query<{ n: number }>(
      'select count(*)::int as n from job_state_counts',
    );
    expect(ledger[0]!.n).toBeLessThanOrEqual(5);
  });

  it('job retention deletes in small batches, oldest first, and only finished jobs', async () => {
    const { rows: before } = await pool.query<{ n: number }>(`select count(*)::int as n from jobs`);
    // Owner b's jobs ended 40 days ago; their bytes are gone (file retention ran) but for one
    // in seven, which retention must keep until the file store has deleted its bytes.
    await pool.query(`update jobs set finished_at = now() - interval '40 days' where owner = 'b'`);
    expect(await deleteExpiredJobs(kysely, 30, 500)).toBe(500);
    let deleted = 500;
    for (
      let n = await deleteExpiredJobs(kysely, 30, 500);
      n > 0;
      n = await deleteExpiredJobs(kysely, 30, 500)
    )
      deleted += n;
    const { rows } = await pool.query<{ n: number; b: number; inflight: number }>(
      `select count(*)::int as n, count(*) filter (where owner = 'b')::int as b,
              count(*) filter (where state in ('queued', 'running'))::int as inflight from jobs`,
    );
    const bytesStillStored = Math.floor(FINISHED / 350); // i % 50 = 0 (b) and i % 7 = 0 (bytes kept)
    expect(deleted).toBe(FINISHED / 50 - bytesStillStored);
    expect(rows[0]).toEqual({
      n: before[0]!.n - deleted,
      b: bytesStillStored,
      inflight: 7,
    });
    void sql;
  });

  it('queue_health’s all-time counts follow the deletes and state changes, folded or not', async () => {
    await pool.query(`update jobs set state = 'completed' where state = 'running'`);
    const truth = `select count(*) filter (where state = 'completed') as completed,
                          count(*) filter (where state = 'failed') as failed,
                          count(*) filter (where state = 'cancelled') as cancelled from jobs`;
    const counts = `select completed, failed, cancelled from tally_admin.queue_health`;
    const { rows: expected } = await pool.query(truth);
    expect((await pool.query(counts)).rows).toEqual(expected);
    expect(await foldStateCounts(kysely)).toBeGreaterThan(0);
    expect((await pool.query(counts)).rows).toEqual(expected);
  });

  // Last: it grows the table the other tests read, and their plans follow its statistics.
  it('a batch’s final writes read the running jobs or the batch’s own, never a backlog', async () => {
    const { rows } = await pool.query<{ table_name: string }>(
      `select table_name from ${BOSS_SCHEMA}.queue where name = $1`,
      [ANALYSIS_QUEUE],
    );
    const entry = { schema: BOSS_SCHEMA, table: rows[0]!.table_name, queue: ANALYSIS_QUEUE, retryCount: 0 };
    const outcome = { state: 'completed', result: {}, bytesProcessed: 1, rowsProcessed: 1 } as const;
    const ends = Array.from({ length: 8 }, () => ({
      jobId: crypto.randomUUID(),
      token: crypto.randomUUID(),
      outcome,
      entry: { ...entry, id: crypto.randomUUID() },
    }));
    // The answer's order (by position in the batch) sorts the batch, not the table.
    const access = async () => {
      await endAttempts(kysely, ends);
      return (await jobsAccess(last())).filter((node) => node !== 'Sort');
    };
    // The running jobs, or the batch's jobs by key; never the history, nor a backlog's queued
    // jobs. With 7 jobs in flight the planner reads them all (the in-flight index); with 20,000
    // queued, only the running ones (jobs_state_idx, by state).
    const bounded = /^Index Scan (jobs_pkey|jobs_state_idx|jobs_owner_in_flight_idx)$/;
    expect(await access()).toEqual([expect.stringMatching(bounded)]);
    await pool.query(`
      insert into jobs (id, owner, state, filename, bytes, sha256, compression, delimiter)
      select gen_random_uuid(), 'backlog', 'queued', 'f.csv', 1, 'x', 'none', ',' from generate_series(1, 20000)`);
    await pool.query('analyze jobs');
    try {
      expect(await access()).toEqual([expect.stringMatching(/^Index Scan (jobs_pkey|jobs_state_idx)$/)]);
    } finally {
      await pool.query(`delete from jobs where owner = 'backlog'`);
    }
  });
});
