import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { ANALYSIS_PART_QUEUE } from '../../src/queue/boss.ts';
import { postCsv, trpcQuery, waitForFinal } from '../support/http.ts';
import { useWorkerFleet } from '../support/worker-fleet.ts';
import { splitFile } from './split-files.ts';

// PARALLEL_ANALYSIS_PARTS=auto (the default): a big file is split into one part per core
// with a live worker process on it, counted from the worker_processes rows when the file is
// taken. Real worker processes on this machine, so the count is min(its cores, the processes).

const fleet = useWorkerFleet({
  WORKER_CONCURRENCY: '1',
  PARALLEL_ANALYSIS_MIN_BYTES: '100000',
  PARALLEL_ANALYSIS_PARTS: 'auto',
  SPILL_THRESHOLD_KEYS: '500',
});
const csv = splitFile({ rows: 9000, seed: 7, customers: 4000 }).toString('utf8'); // ~1.1 MB

async function analysed(): Promise<{ result: unknown; parts: number }> {
  const { body } = await postCsv(fleet.api.url, csv);
  const status = await waitForFinal(fleet.api.url, body.jobId, {}, 60_000);
  expect(status).toMatchObject({ state: 'completed', attempts: 1, error: null });
  const result = (await trpcQuery(fleet.api.url, 'jobs.result', { jobId: body.jobId })).body.result.data;
  const { rows } = await fleet.sql.query(
    `select count(*)::int as n from pgboss.job where name = $1 and data->>'jobId' = $2`,
    [ANALYSIS_PART_QUEUE, body.jobId],
  );
  return { result, parts: rows[0].n as number };
}

describe('PARALLEL_ANALYSIS_PARTS=auto', () => {
  let single: unknown;

  it('does not split with one worker process: its parts would only run one after another', async () => {
    const a = fleet.worker();
    await a.waitForLog(/tally started/);
    const { result, parts } = await analysed();
    expect(parts).toBe(0);
    single = result;
  });

  it('splits into one part per core with a worker process on it, to the same result', async () => {
    const b = fleet.worker();
    const c = fleet.worker();
    await Promise.all([b.waitForLog(/tally started/), c.waitForLog(/tally started/)]);
    // Three processes on this machine: min(cores, 3) parts, none below 2 (else one piece).
    const expected = Math.min(os.availableParallelism(), 3);
    const { result, parts } = await analysed();
    // Every part after the first is a pg-boss job; the attempt that planned runs part 0 itself.
    expect(parts).toBe(expected >= 2 ? expected - 1 : 0);
    expect(result).toEqual(single);
  });
});
