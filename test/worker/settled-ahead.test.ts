import * as plans from 'pg-boss/dist/plans.js';
import { describe, expect, it } from 'vitest';
import { SettledAhead } from '../../src/queue/settled-ahead.ts';
import { useApiWithoutWorkers } from '../support/api-without-workers.ts';

// A job's final state and the completion of its pg-boss entry go in one statement
// (src/db/jobs/finish-attempt.ts, endAttempt); pg-boss's own completion, sent when the
// handler returns, is then answered without a round trip (src/queue/settled-ahead.ts).

const entry = { schema: 'pgboss', table: 'job_common', queue: 'tally-analysis' };
const id = '01a244df-6a0a-76c5-ac00-07eb28112bee';

/** pg-boss's completion of `ids` fetched at `attempts`, as its work() sends it. */
function completion(ids: string[], attempts: number[], table = entry.table) {
  return {
    text: plans.completeJobs(entry.schema, table, undefined, true),
    values: [entry.queue, ids, null, plans.attemptPairs(ids, attempts)],
  };
}

describe('SettledAhead', () => {
  it("answers pg-boss's completion of an entry settled ahead, once, as the database would", () => {
    const settled = new SettledAhead();
    settled.track(entry);
    settled.add({ ...entry, id, retryCount: 0 });
    const { text, values } = completion([id], [0]);
    expect(settled.answer(text, values)?.rows).toEqual([{ count: '1', ids: [id] }]);
    expect(settled.answer(text, values)).toBeUndefined(); // forgotten once answered
  });

  it('sends everything else to the database', () => {
    const settled = new SettledAhead();
    settled.track(entry);
    settled.add({ ...entry, id, retryCount: 1 });
    const other = '01a244df-6a0a-76c5-ac00-07eb28112bef';
    // Another attempt of the same entry (a retry fetched it again), another entry, both.
    expect(settled.answer(completion([id], [0]).text, completion([id], [0]).values)).toBeUndefined();
    expect(settled.answer(completion([other], [1]).text, completion([other], [1]).values)).toBeUndefined();
    // Another table's completion text: a queue moved, or a pg-boss whose completion changed.
    const moved = completion([id], [1], 'job_other');
    expect(settled.answer(moved.text, moved.values)).toBeUndefined();
    // Untracked queue; then the entry itself still answers.
    const untracked = completion([id], [1]);
    expect(settled.answer(untracked.text, ['other-queue', ...untracked.values.slice(1)])).toBeUndefined();
    expect(settled.answer(untracked.text, untracked.values)?.rows[0]).toEqual({ count: '1', ids: [id] });
  });

  it('sends a batch completed partly ahead to the database, and forgets the part that was', () => {
    const settled = new SettledAhead();
    settled.track(entry);
    settled.add({ ...entry, id, retryCount: 1 });
    const other = '01a244df-6a0a-76c5-ac00-07eb28112bef';
    const both = completion([id, other], [1, 1]);
    expect(settled.answer(both.text, both.values)).toBeUndefined();
    // pg-boss completes a batch once: the entry's own completion is not answered after it.
    const alone = completion([id], [1]);
    expect(settled.answer(alone.text, alone.values)).toBeUndefined();
  });
});

describe("a job's pg-boss entry", () => {
  const queued = useApiWithoutWorkers();

  const entryOf = async (jobId: string) => {
    const { rows } = await queued.sql.query<{ state: string; same: boolean; output: unknown }>(
      `select b.state, b.completed_on = j.finished_at as same, b.output
         from jobs j join pgboss.job b on b.id = j.id and b.name = 'tally-analysis' where j.id = $1`,
      [jobId],
    );
    return rows;
  };

  it('is completed in the statement that writes the result', async () => {
    const { jobId, status } = await queued.uploadThenWork('date,amount\n2024-01-01,5.00\n', () =>
      Promise.resolve(),
    );
    expect(status.state).toBe('completed');
    // One statement, one now(): pg-boss's own completion would stamp a later time.
    expect(await entryOf(jobId)).toEqual([{ state: 'completed', same: true, output: null }]);
  });

  it('is completed in the statement that fails the job on its input', async () => {
    const { jobId, status } = await queued.uploadThenWork('date,amount\n2024-01-01,"5.00\n', () =>
      Promise.resolve(),
    );
    expect(status.state).toBe('failed');
    expect(await entryOf(jobId)).toEqual([{ state: 'completed', same: true, output: null }]);
  });
});
