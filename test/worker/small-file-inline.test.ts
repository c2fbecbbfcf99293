import { describe, expect, it } from 'vitest';
import { useApiWithoutWorkers } from '../support/api-without-workers.ts';

// A file of at most 64 KiB comes back with the attempt's start (src/db/jobs/start-attempt.ts)
// instead of through the store's read; it goes through the same check against the upload's
// length and SHA-256. Real PostgreSQL, real HTTP, a real worker started once the job is queued.

const queued = useApiWithoutWorkers();

const runSmall = (csv: string, damage: (jobId: string) => Promise<void>) =>
  queued.uploadThenWork(csv, damage);

describe('a small file read with the attempt start', () => {
  const csv = 'date,customer,amount\n2024-03-05,c1,1.00\n2024-03-06,c2,2.50\n';

  it('is analysed as uploaded', async () => {
    const { jobId, status } = await runSmall(csv, () => Promise.resolve());
    expect(status.state).toBe('completed');
    const { rows } = await queued.sql.query<{ total: number; valid: number }>(
      `select (result->'rows'->>'total')::int as total, (result->'rows'->>'valid')::int as valid
         from jobs where id = $1`,
      [jobId],
    );
    expect(rows[0]).toEqual({ total: 2, valid: 2 });
  });

  it('fails FILE_CORRUPT when one stored byte changed (1.00 → 9.00)', async () => {
    const { status } = await runSmall(csv, async (id) => {
      const { rowCount } = await queued.sql.query(
        `update job_file_chunks
            set data = overlay(data placing '\\x39'::bytea from position('1.00'::bytea in data) for 1)
          where job_id = $1 and seq = 0 and position('1.00'::bytea in data) > 0`,
        [id],
      );
      expect(rowCount).toBe(1);
    });
    expect(status.state).toBe('failed');
    expect(status.error).toMatchObject({ code: 'FILE_CORRUPT' });
  });
});
