import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyseUpload, postCsv, trpcMutation, trpcQuery, waitForFinal } from '../support/http.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';

// Four rows by hand: revenue 100.00 + 50.50 - 20.00 + 30.25 = 160.75; refunds 20.00.
const CSV = [
  'date,amount,customer',
  '2024-01-05,100.00,alice',
  '2024-01-20,50.50,bob',
  '2024-02-03,-20.00,alice',
  '2024-03-10,30.25,carol',
].join('\n');

let tally: TestTally;
let sql: pg.Pool;

beforeAll(async () => {
  tally = await startTestTally();
  sql = tally.database.sql; // closed by tally.stop()
});
afterAll(async () => {
  await tally?.stop();
});

describe('upload → queue → worker → status over tRPC', () => {
  it('turns a CSV into a completed job with the right totals', async () => {
    const upload = await postCsv(tally.url, CSV);
    expect(upload.status).toBe(202);
    expect(upload.body).toEqual({ jobId: expect.any(String), state: 'queued' });

    const status = await waitForFinal(tally.url, upload.body.jobId);
    expect(status).toMatchObject({
      id: upload.body.jobId,
      state: 'completed',
      filename: 'revenue.csv',
      bytes: Buffer.byteLength(CSV),
      attempts: 1,
      error: null,
      progress: { percent: 100, rowsProcessed: 4, totalBytes: Buffer.byteLength(CSV) },
    });
    expect(new Date(status.finishedAt).getTime()).toBeGreaterThanOrEqual(
      new Date(status.startedAt).getTime(),
    );

    const result = await trpcQuery(tally.url, 'jobs.result', { jobId: upload.body.jobId });
    expect(result.status).toBe(200);
    const analysis = result.body.result.data;
    expect(analysis.schemaVersion).toBe(1);
    expect(analysis.rows).toMatchObject({ total: 4, valid: 4, rejected: 0 });
    expect(analysis.currencies).toHaveLength(1);
    expect(analysis.currencies[0].totals).toMatchObject({
      revenue: 160.75,
      refunds: 20,
      firstDate: '2024-01-05',
      lastDate: '2024-03-10',
    });
    expect(
      analysis.currencies[0].monthly.map((m: { month: string; revenue: number }) => [m.month, m.revenue]),
    ).toEqual([
      ['2024-01', 150.5],
      ['2024-02', -20],
      ['2024-03', 30.25],
    ]);
  });

  it('accepts gzip, detected by magic bytes whatever the name', async () => {
    const { gzipSync } = await import('node:zlib');
    const analysis = await analyseUpload(tally.url, gzipSync(CSV), { filename: 'export.dat' });
    expect(analysis.currencies[0].totals.revenue).toBe(160.75);
  });

  it('stores every job with its file and its queue entry, under one id', async () => {
    const upload = await postCsv(tally.url, CSV);
    const jobId = upload.body.jobId as string;
    const { rows } = await sql.query(
      `select j.id, j.sha256, j.crc32::text as crc32,
              (select count(*)::int from job_file_chunks c where c.job_id = j.id) as chunks,
              (select count(*)::int from pgboss.job b where b.id = j.id) as queued
         from jobs j where j.id = $1`,
      [jobId],
    );
    expect(rows).toEqual([
      {
        id: jobId,
        sha256: (await import('node:crypto')).createHash('sha256').update(CSV).digest('hex'),
        // What the parts of a split file are checked against together (lib/crc32-combine.ts).
        crc32: String((await import('node:zlib')).crc32(CSV)),
        chunks: 1,
        queued: 1,
      },
    ]);
    // And across all jobs of this database: none without bytes or a queue row.
    const orphans = await sql.query(
      `select id from jobs j where not exists (select 1 from job_file_chunks c where c.job_id = j.id)
          or not exists (select 1 from pgboss.job b where b.id = j.id)`,
    );
    expect(orphans.rows).toEqual([]);
    await waitForFinal(tally.url, jobId);
  });

  it('answers a long poll as soon as the version changes', async () => {
    const upload = await postCsv(tally.url, CSV);
    const jobId = upload.body.jobId as string;
    // The version the job was inserted with (1), not one read now: a small job can be final
    // before a status read returns (seen at load ~5), and a long poll on a final job rightly
    // answers at once with its unchanged version. From version 1 the poll waits for the
    // claim, or answers at once when the job has already moved on.
    const begun = Date.now();
    const next = await trpcQuery(tally.url, 'jobs.status', { jobId, waitMs: 20_000, knownVersion: 1 });
    const waited = Date.now() - begun;
    expect(next.body.result.data.version).toBeGreaterThan(1);
    // A small job changes within a second; a poll that waited out its 20 s would fail here.
    expect(waited).toBeLessThan(10_000);
  });

  it('lists the owner’s jobs newest first with a working cursor', async () => {
    const a = await postCsv(tally.url, CSV);
    const b = await postCsv(tally.url, CSV);
    const page1 = await trpcQuery(tally.url, 'jobs.list', { limit: 1 });
    expect(page1.body.result.data.items.map((j: { id: string }) => j.id)).toEqual([b.body.jobId]);
    const page2 = await trpcQuery(tally.url, 'jobs.list', {
      limit: 1,
      cursor: page1.body.result.data.nextCursor,
    });
    expect(page2.body.result.data.items.map((j: { id: string }) => j.id)).toEqual([a.body.jobId]);
    await waitForFinal(tally.url, a.body.jobId);
    await waitForFinal(tally.url, b.body.jobId);
  });

  it('keeps a finished job unchanged on cancel', async () => {
    const upload = await postCsv(tally.url, CSV);
    const done = await waitForFinal(tally.url, upload.body.jobId);
    const cancelled = await trpcMutation(tally.url, 'jobs.cancel', { jobId: upload.body.jobId });
    expect(cancelled.body.result.data).toMatchObject({ state: 'completed', version: done.version });
  });

  it('answers NOT_FOUND for an unknown job and BAD_REQUEST for a malformed id', async () => {
    const unknown = await trpcQuery(tally.url, 'jobs.status', {
      jobId: '0190a7c4-0000-7000-8000-000000000000',
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.data.code).toBe('NOT_FOUND');
    const malformed = await trpcQuery(tally.url, 'jobs.status', { jobId: '../../etc/passwd' });
    expect(malformed.status).toBe(400);
    const longWait = await trpcQuery(tally.url, 'jobs.status', {
      jobId: unknown.body.error ? '0190a7c4-0000-7000-8000-000000000000' : '',
      waitMs: 60_000,
    });
    expect(longWait.status).toBe(400);
    const result = await trpcQuery(tally.url, 'jobs.result', {
      jobId: '0190a7c4-0000-7000-8000-000000000000',
    });
    expect(result.status).toBe(404);
  });

  it('leaves no staging behind: every stored chunk belongs to a job', async () => {
    const { rows } = await sql.query(`
      select (select count(*)::int from staged_uploads) as staged,
             (select count(*)::int from job_file_chunks c
               where not exists (select 1 from jobs j where j.id = c.job_id)) as orphaned`);
    expect(rows[0]).toEqual({ staged: 0, orphaned: 0 });
  });
});
