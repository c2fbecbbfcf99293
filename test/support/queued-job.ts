import { expect } from 'vitest';
import { postCsv } from './http.ts';
import type { TestTally } from './tally.ts';

/**
 * Uploads a one-row CSV to an API without workers (the job stays queued) and reads the
 * job's version from SQL, not jobs.status: a status read would leave the row in the status
 * cache, and a long poll or watch on it would then not read PostgreSQL at all.
 */
export async function queuedJob(tally: TestTally): Promise<{ jobId: string; version: number }> {
  const upload = await postCsv(tally.url, 'date,amount\n2024-01-01,1\n');
  expect(upload.status).toBe(202);
  const jobId = upload.body.jobId as string;
  const { rows } = await tally.database.sql.query<{ version: number }>(
    'select version from jobs where id = $1',
    [jobId],
  );
  expect(rows).toHaveLength(1);
  return { jobId, version: rows[0]!.version };
}
