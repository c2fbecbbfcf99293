import type pg from 'pg';
import { afterAll, beforeAll, expect } from 'vitest';
import type { JobStatus } from '../../src/jobs/job-status.ts';
import { postCsv, waitForFinal } from './http.ts';
import { startTestTally, type TestTally } from './tally.ts';

export interface ApiWithoutWorkers {
  readonly api: TestTally;
  /** The API's database, for reading and changing what it stored (closed by the API's stop). */
  readonly sql: pg.Pool;
  /**
   * Uploads `csv` (accepted, queued: no worker yet), lets `beforeWork` change what was
   * stored, then runs the job on a worker of its own until it ends.
   */
  uploadThenWork(
    csv: Buffer | string,
    beforeWork: (jobId: string) => Promise<void>,
  ): Promise<{ jobId: string; status: JobStatus }>;
}

/**
 * One API for the test file and no workers: a job it accepts stays queued until a test
 * starts a worker on the same database, so the test can change its stored bytes first.
 */
export function useApiWithoutWorkers(): ApiWithoutWorkers {
  let api: TestTally | undefined;
  beforeAll(async () => {
    api = await startTestTally({ role: 'api', env: { UPLOAD_RATE_LIMIT_PER_MINUTE: '1000' } });
  });
  afterAll(async () => {
    await api?.stop();
  });
  return {
    get api() {
      return api!;
    },
    get sql() {
      return api!.database.sql;
    },
    async uploadThenWork(csv, beforeWork) {
      const res = await postCsv(api!.url, new Uint8Array(Buffer.from(csv)));
      expect(res.status).toBe(202);
      const jobId: string = res.body.jobId;
      await beforeWork(jobId);
      const worker = await startTestTally({ role: 'worker', database: api!.database });
      try {
        return { jobId, status: await waitForFinal(api!.url, jobId) };
      } finally {
        await worker.stop();
      }
    },
  };
}
