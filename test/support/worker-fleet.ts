import type pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { spawnTally, type ChildTally } from './child-process.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { startTestTally, type TestTally } from './tally.ts';
import { waitUntil } from './wait-until.ts';

export interface WorkerFleet {
  database: TestDatabase;
  api: TestTally;
  sql: pg.Pool;
  /** Starts a worker as its own OS process (the hooked test entry, so `--throttle` works). */
  worker(args?: string[]): ChildTally;
  /** Waits until the job's row shows more than `bytes` processed (a worker is mid-file). */
  waitForBytesProcessed(jobId: string, bytes: number): Promise<void>;
}

/**
 * For process-level fault tests: an in-process API on a fresh database, and worker OS
 * processes the test starts, stops and kills. Every child is killed after the file (even
 * a stopped one: SIGCONT first), so no test leaks a process.
 */
export function useWorkerFleet(workerEnv: Record<string, string>): WorkerFleet {
  const children: ChildTally[] = [];
  const fleet = {
    worker(args: string[] = []) {
      const child = spawnTally('test/support/tally-process.ts', ['worker', ...args], {
        DATABASE_URL: fleet.database.url,
        ...workerEnv,
      });
      children.push(child);
      return child;
    },
    async waitForBytesProcessed(jobId: string, bytes: number) {
      await waitUntil(
        async () => {
          const { rows } = await fleet.sql.query('select bytes_processed from jobs where id = $1', [jobId]);
          return Number(rows[0]?.bytes_processed) > bytes;
        },
        { what: `job ${jobId} to be more than ${bytes} bytes in`, intervalMs: 20 },
      );
    },
  } as WorkerFleet;
  beforeAll(async () => {
    fleet.database = await createTestDatabase();
    fleet.api = await startTestTally({ role: 'api', database: fleet.database });
    fleet.sql = fleet.database.sql;
  });
  afterAll(async () => {
    for (const c of children) {
      c.kill('SIGCONT');
      c.kill('SIGKILL');
    }
    await Promise.all(children.map((c) => c.exited));
    await fleet.api?.stop();
    await fleet.database?.drop();
  });
  return fleet;
}
