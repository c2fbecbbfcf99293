import type pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { startTestTally, type TestTally } from './tally.ts';

export interface ApiWithoutWorkers {
  readonly api: TestTally;
  /** The API's database, for reading and changing what it stored (closed by the API's stop). */
  readonly sql: pg.Pool;
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
  };
}
