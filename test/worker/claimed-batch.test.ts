import { describe, expect, it } from 'vitest';
import { postCsv, waitForFinal } from '../support/http.ts';
import { failingSource, generateCsv } from '../support/sources.ts';
import { useTestTallies } from '../support/tally.ts';

// A worker's claim takes a run of small jobs when several wait (src/db/jobs/small-batch-claim.ts)
// and runs them one after another (src/worker/run-claimed-jobs.ts). A transient error of one
// must retry that job alone: the others of its batch run on, once each.

const start = useTestTallies();

describe('a batch of small jobs', () => {
  it('retries the job whose attempt failed, and runs the rest of its batch once each', async () => {
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((r) => (releaseFirst = r));
    let firstAtFinish!: () => void;
    const atFinish = new Promise<void>((r) => (firstAtFinish = r));
    const jobs: { first?: string; failing?: string } = {};
    const breakRead = failingSource(0);
    const reads = new Map<string, number>();
    const tally = await start({
      env: { WORKER_CONCURRENCY: '1' },
      workerHooks: {
        // The first job holds the only slot until the others wait behind it.
        beforeFinish: async (jobId) => {
          if (jobId !== jobs.first) return;
          firstAtFinish();
          await firstHeld;
        },
        // The failing job's first read breaks like a dropped connection.
        wrapSource: (jobId, source) => {
          const n = (reads.get(jobId) ?? 0) + 1;
          reads.set(jobId, n);
          return jobId === jobs.failing && n === 1 ? breakRead(jobId, source) : source;
        },
      },
    });
    const upload = async () => {
      const { status, body } = await postCsv(tally.url, generateCsv(20).csv);
      expect(status).toBe(202);
      return body.jobId as string;
    };
    const firstJob = (jobs.first = await upload());
    await atFinish;
    const waiting = [await upload(), await upload(), await upload(), await upload()];
    const failing = (jobs.failing = waiting[1]);
    releaseFirst();

    for (const jobId of [firstJob, ...waiting])
      expect((await waitForFinal(tally.url, jobId, {}, 20_000)).state).toBe('completed');
    const { rows } = await tally.database.sql.query<{
      id: string;
      attempts: number;
      claimed: string;
      finished: string;
    }>(
      `select j.id, j.attempts, b.retry_count as retries, j.started_at::text as claimed,
              j.finished_at::text as finished
         from jobs j join pgboss.job b on b.id = j.id where j.id = any($1)`,
      [waiting],
    );
    const byId = new Map(rows.map((row) => [row.id, row]));
    // One claim took the four: one statement, one now().
    expect(new Set(rows.map((row) => row.claimed)).size).toBe(1);
    // And one statement wrote the three results of that batch (src/worker/batch-endings.ts).
    expect(new Set(rows.filter((row) => row.id !== failing).map((row) => row.finished)).size).toBe(1);
    for (const jobId of waiting)
      expect(byId.get(jobId)).toMatchObject(
        jobId === failing ? { attempts: 2, retries: 1 } : { attempts: 1, retries: 0 },
      );
    expect(waiting.map((jobId) => reads.get(jobId))).toEqual(waiting.map((id) => (id === failing ? 2 : 1)));
  });
});
