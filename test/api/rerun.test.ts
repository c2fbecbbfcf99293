import { crc32 } from 'node:zlib';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WRONG_DATE_COLUMN } from '../support/csv-samples.ts';
import { postCsv, trpcMutation, trpcQuery, waitForFinal } from '../support/http.ts';
import { lockWaiters } from '../support/lock-waiters.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';

/**
 * jobs.rerun over real HTTP against a real Tally and PostgreSQL: a new job from the bytes
 * an earlier job stored, with other options.
 */
const ALICE = 'alice-token-0123456789abcdef';
const BOB = 'bob-token-0123456789abcdef00';
const asAlice = { authorization: `Bearer ${ALICE}` };
const asBob = { authorization: `Bearer ${BOB}` };

// Ambiguous slash dates: read month-first by default (Mar, Mar, Apr), day-first when asked
// (Jan, Feb, Jan).
const AMBIGUOUS_DATES = ['date,amount', '03/01/2024,10.00', '03/02/2024,20.00', '04/01/2024,5.00'].join('\n');

let tally: TestTally;
let sql: pg.Pool;

beforeAll(async () => {
  tally = await startTestTally({
    env: { API_TOKENS: `alice:${ALICE},bob:${BOB}`, FILE_RETENTION_HOURS: '24' },
  });
  sql = tally.database.sql; // closed by tally.stop()
});
afterAll(async () => {
  await tally?.stop();
});

async function upload(csv: string, filename = 'export.csv'): Promise<string> {
  const res = await postCsv(tally.url, csv, { headers: asAlice, filename });
  expect(res.status).toBe(202);
  return res.body.jobId as string;
}

const rerun = (jobId: string, options: unknown, headers = asAlice) =>
  trpcMutation(tally.url, 'jobs.rerun', { jobId, options }, headers);

/** Everything stored about a job, as PostgreSQL holds it (file bytes as a hash). */
async function snapshot(jobId: string) {
  const { rows } = await sql.query(
    `select to_jsonb(j) as row,
            (select md5(string_agg(data, ''::bytea order by seq)) from job_file_chunks c where c.job_id = j.id) as file_md5,
            (select count(*)::int from job_file_chunks c where c.job_id = j.id) as chunks
       from jobs j where id = $1`,
    [jobId],
  );
  return rows[0] as { row: Record<string, unknown>; file_md5: string | null; chunks: number };
}

/** jobs.crc32 as stored (null: none). */
async function crc32Of(jobId: string): Promise<number | null> {
  const { rows } = await sql.query<{ crc32: string | null }>(
    'select crc32::text as crc32 from jobs where id = $1',
    [jobId],
  );
  return rows[0]!.crc32 === null ? null : Number(rows[0]!.crc32);
}

const jobCount = async () => Number((await sql.query('select count(*) from jobs')).rows[0].count);

describe('jobs.rerun', () => {
  it('re-runs a failed job with a corrected date column: a new job with the right total, the old one untouched', async () => {
    const oldId = await upload(WRONG_DATE_COLUMN, 'payments.csv');
    const failed = await waitForFinal(tally.url, oldId, asAlice);
    expect(failed).toMatchObject({ state: 'failed', error: { code: 'NO_VALID_ROWS' } });
    const before = await snapshot(oldId);

    const res = await rerun(oldId, { columns: { date: 'Fecha cobro' } });
    expect(res.status).toBe(200);
    const created = res.body.result.data;
    expect(created).toEqual({ jobId: expect.any(String), state: 'queued', rerunOf: oldId });
    expect(created.jobId).not.toBe(oldId);

    const done = await waitForFinal(tally.url, created.jobId, asAlice);
    // Its own history: one attempt, no error, created after the old job finished.
    expect(done).toMatchObject({
      id: created.jobId,
      state: 'completed',
      filename: 'payments.csv',
      bytes: Buffer.byteLength(WRONG_DATE_COLUMN),
      attempts: 1,
      error: null,
    });
    expect(Date.parse(done.createdAt)).toBeGreaterThanOrEqual(Date.parse(failed.finishedAt));
    const result = (await trpcQuery(tally.url, 'jobs.result', { jobId: created.jobId }, asAlice)).body.result
      .data;
    expect(result.input.columns.date).toBe('Fecha cobro');
    expect(result.rows).toMatchObject({ total: 4, valid: 4, rejected: 0 });
    expect(result.currencies[0].totals).toMatchObject({
      revenue: 160.75,
      refunds: 20,
      firstDate: '2024-01-05',
      lastDate: '2024-03-10',
    });

    // The old job: the same row to the byte (state, error, version, timestamps) and bytes.
    expect(await snapshot(oldId)).toEqual(before);
    expect((await trpcQuery(tally.url, 'jobs.status', { jobId: oldId }, asAlice)).body.result.data).toEqual(
      failed,
    );
    // The copy is the same file, stored under the new job, linked to the old one.
    const copy = await snapshot(created.jobId);
    expect(copy.file_md5).toBe(before.file_md5);
    expect(copy.chunks).toBe(before.chunks);
    expect(copy.row).toMatchObject({
      rerun_of: oldId,
      owner: 'alice',
      sha256: before.row.sha256,
      options: { columns: { date: 'Fecha cobro' } },
    });
    // Its CRC-32 too (the split's check of the whole file), as taken at the upload.
    expect(await crc32Of(created.jobId)).toBe(crc32(Buffer.from(WRONG_DATE_COLUMN)));
    expect(await crc32Of(oldId)).toBe(crc32(Buffer.from(WRONG_DATE_COLUMN)));
    // Both are in the owner's list, newest first.
    const list = (await trpcQuery(tally.url, 'jobs.list', {}, asAlice)).body.result.data.items;
    expect(list.map((j: { id: string }) => j.id).slice(0, 2)).toEqual([created.jobId, oldId]);
  });

  it('re-runs a completed job with other options; the old result and version stay as they were', async () => {
    const oldId = await upload(AMBIGUOUS_DATES);
    await waitForFinal(tally.url, oldId, asAlice);
    const oldResult = (await trpcQuery(tally.url, 'jobs.result', { jobId: oldId }, asAlice)).body.result.data;
    const months = (r: { currencies: { monthly: { month: string; revenue: number }[] }[] }) =>
      r.currencies[0]!.monthly.map((m) => [m.month, m.revenue]);
    expect(months(oldResult)).toEqual([
      ['2024-03', 30],
      ['2024-04', 5],
    ]);
    const before = await snapshot(oldId);

    const res = await rerun(oldId, { dateFormat: 'DMY' });
    expect(res.status).toBe(200);
    const newId = res.body.result.data.jobId as string;
    await waitForFinal(tally.url, newId, asAlice);
    const newResult = (await trpcQuery(tally.url, 'jobs.result', { jobId: newId }, asAlice)).body.result.data;
    expect(months(newResult)).toEqual([
      ['2024-01', 15],
      ['2024-02', 20],
    ]);
    expect(newResult.currencies[0].totals.revenue).toBe(35);

    const after = await snapshot(oldId);
    expect(after).toEqual(before);
    expect(after.row.version).toBe(before.row.version);
    expect((await trpcQuery(tally.url, 'jobs.result', { jobId: oldId }, asAlice)).body.result.data).toEqual(
      oldResult,
    );
  });

  it('is NOT_FOUND for another owner’s job and for an unknown one, and makes no job', async () => {
    const oldId = await upload(AMBIGUOUS_DATES);
    await waitForFinal(tally.url, oldId, asAlice);
    const jobs = await jobCount();
    const before = await snapshot(oldId);

    const bobs = await rerun(oldId, {}, asBob);
    expect(bobs.status).toBe(404);
    expect(bobs.body.error.data.code).toBe('NOT_FOUND');
    const unknown = await rerun('0190a4d2-0000-7000-8000-000000000000', {});
    expect(unknown.status).toBe(404);
    // Indistinguishable: the same answer for both.
    expect(bobs.body.error.message).toBe(unknown.body.error.message);
    const anonymous = await rerun(oldId, {}, {} as typeof asAlice);
    expect(anonymous.status).toBe(401);

    expect(await jobCount()).toBe(jobs);
    expect(await snapshot(oldId)).toEqual(before);
  });

  it('validates options with the upload’s schema', async () => {
    const oldId = await upload(AMBIGUOUS_DATES);
    await waitForFinal(tally.url, oldId, asAlice);
    const jobs = await jobCount();
    for (const options of [
      { delimiter: 'x' },
      { dateFormat: 'DDMM' },
      { columns: { when: 'date' } },
      { nope: 1 },
    ]) {
      const res = await rerun(oldId, options);
      expect(res.status, JSON.stringify(options)).toBe(400);
      expect(res.body.error.data.code).toBe('BAD_REQUEST');
    }
    expect(await jobCount()).toBe(jobs);
  });

  it('answers FILE_EXPIRED (410) once retention has deleted the bytes, and makes no job', async () => {
    const oldId = await upload(AMBIGUOUS_DATES);
    await waitForFinal(tally.url, oldId, asAlice);
    // Backdate instead of sleeping a day, then let the real sweep delete the file.
    await sql.query(`update jobs set finished_at = now() - interval '25 hours' where id = $1`, [oldId]);
    expect((await tally.maintenance!.runOnce()).filesDeleted).toBeGreaterThanOrEqual(1);
    expect((await snapshot(oldId)).chunks).toBe(0);
    const jobs = await jobCount();

    const res = await rerun(oldId, { dateFormat: 'DMY' });
    expect(res.status).toBe(410);
    expect(res.body.error.data.code).toBe('FILE_EXPIRED');
    expect(res.body.error.message).toMatch(/deleted.*upload the file again/i);
    expect(res.body.error.message).not.toMatch(/FILE_RETENTION_HOURS|options\.|at .*\.ts/);
    expect(await jobCount()).toBe(jobs);
    // The old job's result is still there.
    expect((await trpcQuery(tally.url, 'jobs.result', { jobId: oldId }, asAlice)).status).toBe(200);
  });

  it('never copies half a file: a re-run that meets the sweep mid-delete waits, then answers FILE_EXPIRED', async () => {
    const oldId = await upload(AMBIGUOUS_DATES);
    await waitForFinal(tally.url, oldId, asAlice);
    const jobs = await jobCount();
    // What the sweep does, held open: lock the row, delete the chunks, mark the file gone.
    const sweep = await sql.connect();
    try {
      await sweep.query('begin');
      await sweep.query('select id from jobs where id = $1 for update', [oldId]);
      await sweep.query('delete from job_file_chunks where job_id = $1', [oldId]);
      await sweep.query('update jobs set file_deleted_at = now() where id = $1', [oldId]);
      const pending = rerun(oldId, {});
      // The re-run is queued behind the sweep's row lock, not racing it.
      await expect.poll(() => lockWaiters(sql), { timeout: 10_000 }).toBe(1);
      await sweep.query('commit');
      const res = await pending;
      expect(res.status).toBe(410);
      expect(res.body.error.data.code).toBe('FILE_EXPIRED');
    } finally {
      sweep.release();
    }
    expect(await jobCount()).toBe(jobs);
  });

  it('copies a file that takes longer than the requests’ statement timeout', async () => {
    // Requests run under DB_STATEMENT_TIMEOUT_MS; a copy takes time in proportion to the file.
    // Made slow deterministically: another session holds a lock the copy must wait for.
    const slow = await startTestTally({ env: { DB_STATEMENT_TIMEOUT_MS: '500' } });
    const pool = slow.database.sql; // closed by slow.stop()
    try {
      const upload = await postCsv(slow.url, AMBIGUOUS_DATES);
      expect(upload.status).toBe(202);
      const oldId = upload.body.jobId as string;
      await waitForFinal(slow.url, oldId);
      const locker = await pool.connect();
      let res: Awaited<ReturnType<typeof trpcMutation>>;
      try {
        await locker.query('begin');
        await locker.query('lock table job_file_chunks in share mode'); // blocks INSERT
        const pending = trpcMutation(slow.url, 'jobs.rerun', {
          jobId: oldId,
          options: { dateFormat: 'DMY' },
        });
        // Once the copy waits on the lock, hold it twice the statement timeout.
        await expect.poll(() => lockWaiters(pool), { timeout: 10_000 }).toBe(1);
        await new Promise((r) => setTimeout(r, 1000));
        await locker.query('commit');
        res = await pending;
      } finally {
        locker.release();
      }
      expect(res.status).toBe(200);
      const done = await waitForFinal(slow.url, res.body.result.data.jobId);
      expect(done.state).toBe('completed');
    } finally {
      await slow.stop();
    }
  });
});
