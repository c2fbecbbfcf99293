import * as plans from 'pg-boss/dist/plans.js';
import { randomUUID } from 'node:crypto';
import type { QueryResult } from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { claimedQueue, keyedClaim } from '../../src/queue/claim-extension.ts';
import { AttemptStartsOnClaim } from '../../src/worker/start-on-claim.ts';
import { useApiWithoutWorkers } from '../support/api-without-workers.ts';

// A job's attempt starts in the statement pg-boss claims it with (src/worker/start-on-claim.ts):
// one round trip fewer per job. It rests on recognising pg-boss's claim among its statements,
// so the first tests read what the installed pg-boss really sends.

const textOf = (statement: string | { text: string }) =>
  typeof statement === 'string' ? statement : statement.text;

const claimOptions = {
  schema: 'pgboss',
  table: 'job_common',
  name: 'tally-analysis',
  policy: 'standard',
};

describe("pg-boss's claim statement", () => {
  const base = {
    schema: 'pgboss',
    table: 'job_common',
    name: 'tally-analysis',
    policy: 'standard',
    limit: 1,
  };

  it.each([
    ['as the analysis workers fetch', {}],
    ['with a group cap (WORKER_MAX_RUNNING_PER_OWNER)', { groupConcurrency: 2 }],
    ['with a group cap of one', { groupConcurrency: 1 }],
    ['with trace context', { includeTraceContext: true }],
    ['in batches', { limit: 4 }],
  ])('is recognised %s', (_, options) => {
    const claim = plans.fetchNextJob({ ...base, ...options });
    expect(claimedQueue(claim.text)).toBe('tally-analysis');
    expect(claimedQueue(plans.fetchNextJob({ ...base, ...options, name: 'other' }).text)).toBe('other');
  });

  it.each([
    ['as the analysis workers fetch', {}],
    ['with trace context', { includeTraceContext: true }],
    ['in batches', { limit: 4 }],
  ])('finds its chosen entries by key %s (test/queue/claim-plan.test.ts says why)', (_, options) => {
    const keyed = keyedClaim(plans.fetchNextJob({ ...base, ...options }).text);
    expect(keyed).toContain("WHERE name = 'tally-analysis' AND j.id = ANY (ARRAY(SELECT id FROM next))");
    expect(keyed).not.toMatch(/FROM\s+next\s+WHERE/); // no join back to the table
    expect(claimedQueue(keyed!)).toBe('tally-analysis');
  });

  it('is told from every other statement that touches jobs', () => {
    const others = [
      plans.insertJobs('pgboss', { table: 'job_common', name: 'tally-analysis', notify: true }),
      plans.completeJobs('pgboss', 'job_common', false, true),
      plans.cancelJobs('pgboss', 'job_common', true),
      plans.resumeJobs('pgboss', 'job_common'),
      plans.restoreJobs('pgboss', 'job_common'),
      plans.failJobsById('pgboss', 'job_common', true),
      plans.touchJobs('pgboss', 'job_common', true),
      plans.retryJobs('pgboss', 'job_common'),
      plans.deleteJobsById('pgboss', 'job_common', true),
    ];
    for (const statement of others) expect(claimedQueue(textOf(statement))).toBeUndefined();
    expect(claimedQueue('select 1')).toBeUndefined();
  });
});

describe("a job's attempt", () => {
  const queued = useApiWithoutWorkers();

  it('starts in the statement that claims it', async () => {
    const { jobId, status } = await queued.uploadThenWork('date,amount\n2024-01-01,5.00\n', () =>
      Promise.resolve(),
    );
    expect(status.state).toBe('completed');
    // One statement, one now(): a start of its own would stamp a later time than the claim.
    const { rows } = await queued.sql.query<{ same: boolean; attempts: number }>(
      `select j.started_at = b.started_on as same, j.attempts
         from jobs j join pgboss.job b on b.id = j.id and b.name = 'tally-analysis'
        where j.id = $1`,
      [jobId],
    );
    expect(rows).toEqual([{ same: true, attempts: 1 }]);
  });

  it('is not started for a job cancelled while queued, and nothing is written', async () => {
    const { jobId, status } = await queued.uploadThenWork('date,amount\n2024-01-01,5.00\n', async (id) => {
      await queued.sql.query(
        `update jobs set state = 'cancelled', finished_at = now(), error_code = 'CANCELLED' where id = $1`,
        [id],
      );
    });
    expect(status.state).toBe('cancelled');
    const { rows } = await queued.sql.query<{ attempts: number; result: unknown; started: boolean }>(
      `select j.attempts, j.result, b.started_on is not null as started
         from jobs j join pgboss.job b on b.id = j.id and b.name = 'tally-analysis' where j.id = $1`,
      [jobId],
    );
    expect(rows).toEqual([{ attempts: 0, result: null, started: expect.any(Boolean) }]);
  });
});

describe("a process's claims at once", () => {
  // One NOTIFY wakes every idle slot, and each would claim; the later ones wait for the first
  // (src/worker/start-on-claim.ts). The database's side is the claim-plan test's.
  const claim = { text: plans.fetchNextJob({ ...claimOptions, limit: 1 }).text, values: [] };
  const row = (more: boolean) => ({ id: randomUUID(), data: {}, __tallyStarted: null, __tallyMore: more });

  /** A statement runner that answers `answers` in turn, each when the test releases it. */
  function database(answers: Record<string, unknown>[][]) {
    const sent: ((rows: Record<string, unknown>[]) => void)[] = [];
    const execute = () =>
      new Promise<QueryResult>((resolve) => {
        sent.push((rows) => resolve({ command: 'UPDATE', rowCount: rows.length, oid: 0, fields: [], rows }));
      });
    const answer = (i: number) => sent[i]!(answers[i]!);
    return { execute, sent, answer };
  }

  it('answers a second claim empty when the first took all there was', async () => {
    const db = database([[row(false)]]);
    const starts = new AttemptStartsOnClaim(0, () => 7);
    const first = starts.run(claim, db.execute);
    const second = starts.run(claim, db.execute);
    db.answer(0);
    expect((await first).rows).toHaveLength(1);
    expect((await second).rows).toEqual([]);
    expect(db.sent).toHaveLength(1);
  });

  it('sends the second when the first left more, or found nothing and a NOTIFY came since', async () => {
    const left = database([[row(true)], [row(false)]]);
    const starts = new AttemptStartsOnClaim(0, () => 7);
    const first = starts.run(claim, left.execute);
    const second = starts.run(claim, left.execute);
    left.answer(0);
    await first;
    await vi.waitFor(() => expect(left.sent).toHaveLength(2));
    left.answer(1);
    expect((await second).rows).toHaveLength(1);

    let notifications = 7;
    const late = database([[], [row(false)]]);
    const notified = new AttemptStartsOnClaim(0, () => notifications);
    const one = notified.run(claim, late.execute);
    notifications++; // a job sent since the first claim's snapshot
    const two = notified.run(claim, late.execute);
    expect(late.sent).toHaveLength(2);
    late.answer(0);
    late.answer(1);
    expect((await one).rows).toEqual([]);
    expect((await two).rows).toHaveLength(1);
  });
});
