import { crc32 } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postCsv, trpcMutation, trpcQuery, waitForFinal } from '../support/http.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';
import { waitUntil } from '../support/wait-until.ts';
import { startCuttingProxy } from '../resumable/cutting-proxy.ts';
import { startStore, type StoreUnderTest } from '../resumable/stores.ts';
import { startTestS3, type TestS3 } from '../support/s3-server.ts';

// docs/reference.md's "POST /api/jobs" and "Where bytes live" with each store: upload → result, a cut-off upload leaves nothing,
// a re-run reuses the bytes, retention deletes them, and where they live is in the admin view.
const MiB = 1024 * 1024;

function salesCsv(rows: number): Buffer<ArrayBuffer> {
  const lines = ['date,amount,customer'];
  for (let i = 0; i < rows; i++)
    lines.push(`2024-${String((i % 12) + 1).padStart(2, '0')}-15,12.34,c${i % 500}`);
  return Buffer.from(new TextEncoder().encode(`${lines.join('\n')}\n`).buffer);
}

describe.each(['postgres', 's3'] as const)('stored bytes, FILE_STORE=%s', (storeName) => {
  let store: StoreUnderTest;
  let tally: TestTally;

  /** jobs.crc32 as stored: the whole file's CRC-32 taken at upload (null: none). */
  const storedCrc32 = async (jobId: string): Promise<number | null> => {
    const { rows } = await tally.database.sql.query<{ crc32: string | null }>(
      'select crc32::text as crc32 from jobs where id = $1',
      [jobId],
    );
    return rows[0]!.crc32 === null ? null : Number(rows[0]!.crc32);
  };

  beforeAll(async () => {
    store = await startStore(storeName);
    tally = await startTestTally({ env: { ...store.env, FILE_RETENTION_HOURS: '1' } });
  });
  afterAll(async () => {
    await tally?.stop();
    await store?.stop();
  });

  it('an upload over several parts becomes a job with exact figures; the admin view says where it lives', async () => {
    const rows = 900_000; // ~24 MiB: three 8 MiB parts and a last one
    const file = salesCsv(rows);
    const upload = await postCsv(tally.url, file, { filename: 'big.csv' });
    expect(upload.status).toBe(202);
    const jobId = upload.body.jobId as string;
    expect(await store.storedPieces(tally.database.sql, jobId)).toBeGreaterThan(0);
    expect(await storedCrc32(jobId)).toBe(crc32(file));
    const status = await waitForFinal(tally.url, jobId, {}, 90_000);
    expect(status).toMatchObject({ state: 'completed', bytes: file.length });
    const result = await trpcQuery(tally.url, 'jobs.result', { jobId });
    expect(result.body.result.data.currencies[0].totals.revenue).toBe(Math.round(1234 * rows) / 100);
    const { rows: view } = await tally.database.sql.query(
      'select store, location from tally_admin.job_files where id = $1',
      [jobId],
    );
    expect(view[0].store).toBe(storeName);
    expect(view[0].location).toBe(storeName === 's3' ? `object <S3_PREFIX>${jobId}` : 'job_file_chunks');
  });

  it('a cut-off upload leaves no job and no stored bytes (no object, no open multipart upload)', async () => {
    const proxy = await startCuttingProxy(tally.url, 20 * MiB, 1, { rewriteHost: true });
    try {
      const before = await tally.database.sql.query<{ n: number }>('select count(*)::int as n from jobs');
      await expect(postCsv(proxy.url, salesCsv(1_000_000))).rejects.toThrow();
      expect(proxy.cuts).toBe(1);
      await waitUntil(
        async () => {
          const { rows } = await tally.database.sql.query<{ staged: number; chunks: number; jobs: number }>(`
            select (select count(*)::int from staged_uploads) as staged,
                   (select count(*)::int from job_file_chunks c where not exists (select 1 from jobs j where j.id = c.job_id)) as chunks,
                   (select count(*)::int from jobs) as jobs`);
          return rows[0]!.staged === 0 && rows[0]!.chunks === 0 && rows[0];
        },
        { what: 'the cut-off upload to be discarded' },
      );
      const after = await tally.database.sql.query<{ n: number }>('select count(*)::int as n from jobs');
      expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
      await waitUntil(async () => (await store.orphanPieces(tally.database.sql)) === 0, {
        what: 'no object, chunk or open multipart upload without a job',
      });
    } finally {
      await proxy.stop();
    }
  });

  it('a re-run reuses the stored bytes; retention deletes them and a later re-run is 410', async () => {
    const file = salesCsv(2000);
    const upload = await postCsv(tally.url, file);
    const jobId = upload.body.jobId as string;
    await waitForFinal(tally.url, jobId);
    const rerun = await trpcMutation(tally.url, 'jobs.rerun', { jobId, options: { currency: 'EUR' } });
    expect(rerun.status).toBe(200);
    const rerunId = rerun.body.result.data.jobId as string;
    expect((await waitForFinal(tally.url, rerunId)).state).toBe('completed');
    expect(await store.storedPieces(tally.database.sql, rerunId)).toBeGreaterThan(0);
    expect(await storedCrc32(rerunId)).toBe(crc32(file)); // copied from the job it re-runs

    // Backdate instead of waiting FILE_RETENTION_HOURS.
    await tally.database.sql.query(`update jobs set finished_at = now() - interval '2 hours' where id = $1`, [
      jobId,
    ]);
    await tally.maintenance!.runOnce();
    expect(await store.storedPieces(tally.database.sql, jobId)).toBe(0);
    expect(await store.storedPieces(tally.database.sql, rerunId)).toBeGreaterThan(0); // its own clock
    const late = await trpcMutation(tally.url, 'jobs.rerun', { jobId });
    expect([late.status, late.body.error.data.code ?? late.body.error.json?.data?.code]).toEqual([
      410,
      'FILE_EXPIRED',
    ]);
  });
});

describe('FILE_STORE=s3: stored bytes are checked on every read', () => {
  let s3: TestS3;
  let tally: TestTally;
  beforeAll(async () => {
    s3 = await startTestS3();
    tally = await startTestTally({ env: s3.env });
  });
  afterAll(async () => {
    await tally?.stop();
    await s3?.stop();
  });

  it('an object changed after the upload fails its job with FILE_CORRUPT, never with figures', async () => {
    const file = salesCsv(500);
    const upload = await postCsv(tally.url, file);
    const jobId = upload.body.jobId as string;
    await waitForFinal(tally.url, jobId);
    const changed = Buffer.from(file);
    changed[changed.lastIndexOf('12.34')] = '9'.charCodeAt(0); // same length, another amount
    await s3.client.send(
      new PutObjectCommand({ Bucket: s3.bucket, Key: `${s3.prefix}${jobId}`, Body: changed }),
    );
    const rerun = await trpcMutation(tally.url, 'jobs.rerun', { jobId });
    const status = await waitForFinal(tally.url, rerun.body.result.data.jobId);
    expect(status.state).toBe('failed');
    expect(status.error.code).toBe('FILE_CORRUPT');
  });
});
