import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/wait-until.ts';
import { analyseUpload, postCsv, trpcQuery, waitForFinal } from '../support/http.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';

// Bad input of every kind: each gets the contract's status and code, a message a person
// can act on, and leaves no temp file and no half-made job behind.

let tally: TestTally;
let sql: pg.Pool;
const port = () => Number(new URL(tally.url).port);

beforeAll(async () => {
  tally = await startTestTally({
    env: {
      MAX_DECOMPRESSED_BYTES: String(5 * 1024 * 1024),
      MAX_RECORD_BYTES: String(64 * 1024),
      UPLOAD_RATE_GRACE_MS: '1500',
      UPLOAD_MIN_BYTES_PER_SECOND: '1024',
      UPLOAD_RATE_LIMIT_PER_MINUTE: '1000',
    },
  });
  sql = tally.database.sql; // closed by tally.stop()
});
afterAll(async () => {
  await tally?.stop();
});

async function jobCount(): Promise<number> {
  return (await sql.query('select count(*)::int as n from jobs')).rows[0].n;
}

/** Chunks that belong to no job: staged by an upload in flight (or left by one). */
async function stagedChunks(): Promise<number> {
  const { rows } = await sql.query(
    'select count(*)::int as n from job_file_chunks c where not exists (select 1 from jobs j where j.id = c.job_id)',
  );
  return rows[0].n;
}

function rawUpload(headers: string, body: Buffer | string) {
  const socket = net.connect(port(), '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write(headers);
  socket.write(body);
  return socket;
}

describe('uploads that go wrong on the wire', () => {
  it('a client that disconnects mid-upload leaves no job and no staged chunk', async () => {
    const before = await jobCount();
    const socket = rawUpload(
      `POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1:${port()}\r\nContent-Type: multipart/form-data; boundary=zz\r\nContent-Length: 5000000\r\n\r\n`,
      // ~2.6 MB of a 5 MB body: two 1 MiB chunks are staged before the client goes.
      `--zz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\ndate,amount\n${'2024-01-01,1\n'.repeat(200_000)}`,
    );
    await waitUntil(async () => (await stagedChunks()) >= 2, { what: 'two chunks staged' });
    socket.destroy();
    await waitUntil(async () => (await stagedChunks()) === 0, { what: 'the staged chunks deleted' });
    expect((await sql.query('select count(*)::int as n from staged_uploads')).rows[0].n).toBe(0);
    expect(await jobCount()).toBe(before);
  });

  it('a body trickling at 1 byte/s is cut off with 408', async () => {
    const socket = net.connect(port(), '127.0.0.1');
    let answer = '';
    socket.on('data', (d) => (answer += d.toString()));
    socket.on('error', () => undefined);
    socket.write(
      `POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1:${port()}\r\nContent-Type: multipart/form-data; boundary=zz\r\nContent-Length: 100000\r\n\r\n--zz\r\n`,
    );
    const before = await jobCount();
    const timer = setInterval(() => socket.write('x'), 1000);
    try {
      for (let i = 0; i < 100 && !answer; i++) await sleep(100);
    } finally {
      clearInterval(timer);
      socket.destroy();
    }
    expect(answer).toMatch(/^HTTP\/1.1 408/);
    expect(answer).toMatch(/REQUEST_TIMEOUT/);
    expect(await jobCount()).toBe(before);
    expect((await sql.query('select count(*)::int as n from staged_uploads')).rows[0].n).toBe(0);
  });

  it('1,000 form fields are refused with 400', async () => {
    const form = new FormData();
    for (let i = 0; i < 1000; i++) form.append(`f${i}`, 'x');
    form.append('file', new Blob(['date,amount\n2024-01-01,1\n']), 'a.csv');
    const res = await fetch(`${tally.url}/api/jobs`, { method: 'POST', body: form });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/too many/i);
  });
});

describe('hostile filenames are data', () => {
  it.each([
    ['../../etc/passwd'],
    ['/absolute/path/revenue.csv'],
    ['x'.repeat(5000)],
    ['C:\\Windows\\system32\\evil.csv'],
  ])('%# stores a bounded, control-free name as data', async (name) => {
    const res = await postCsv(tally.url, 'date,amount\n2024-01-01,1\n', { filename: name });
    expect(res.status).toBe(202);
    const status = await waitForFinal(tally.url, res.body.jobId);
    expect(status.state).toBe('completed');
    expect(status.filename.length).toBeGreaterThan(0);
    expect(status.filename.length).toBeLessThanOrEqual(255);
    expect([...status.filename].every((c) => c.charCodeAt(0) >= 0x20)).toBe(true);
  });
});

describe('a NUL byte in a part header', () => {
  it('is malformed multipart (NUL is not allowed in a header): 400 BAD_REQUEST', async () => {
    const res = await postCsv(tally.url, 'date,amount\n2024-01-01,1\n', { filename: 'nul\u0000byte.csv' });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(/malformed/),
    });
  });
});

describe('files that are not what they claim', () => {
  // Its own timeout: inflates up to the bound before failing: ~17 s measured under load 16.
  it('a gzip bomb fails the job with a clear limit, without filling memory or disk', async () => {
    // 60 MB of valid rows in ~100 KB of gzip; the limit here is 5 MiB decompressed.
    const bomb = gzipSync(`date,amount\n${'2024-01-01,1\n'.repeat(5_000_000)}`, { level: 9 });
    expect(bomb.length).toBeLessThan(400 * 1024);
    const res = await postCsv(tally.url, new Uint8Array(bomb), { filename: 'small.csv.gz' });
    // The head inflates to good rows, so the upload is accepted; the worker stops at the limit.
    expect(res.status).toBe(202);
    const status = await waitForFinal(tally.url, res.body.jobId);
    expect(status).toMatchObject({ state: 'failed', error: { code: 'DECOMPRESSED_TOO_LARGE' } });
    expect(status.error.message).toMatch(/MiB|bytes|limit/i);
  }, 60_000);

  it('a header with no rows fails the job with NO_VALID_ROWS', async () => {
    const res = await postCsv(tally.url, 'date,amount,customer\n');
    expect(res.status).toBe(202);
    const status = await waitForFinal(tally.url, res.body.jobId);
    expect(status).toMatchObject({ state: 'failed', error: { code: 'NO_VALID_ROWS' } });
  });

  it('10,000 columns are read without harm', async () => {
    const extra = Array.from({ length: 9998 }, (_, i) => `c${i}`);
    const header = ['date', 'amount', ...extra].join(',');
    const row = ['2024-01-01', '5.00', ...extra.map(() => '')].join(',');
    const analysis = await analyseUpload(tally.url, `${header}\n${row}\n`);
    expect(analysis.currencies[0].totals.revenue).toBe(5);
  });

  it('a 10 MB single line is refused at upload: no header row in the head', async () => {
    const res = await postCsv(tally.url, 'x'.repeat(10 * 1024 * 1024));
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INVALID_CSV');
  });

  it('bytes that are not UTF-8 are read as Windows-1252, not refused as binary', async () => {
    // 0xff and 0xfe are "ÿ" and "þ" in Windows-1252: text, just not rows this header fits.
    const bytes = Buffer.concat([
      Buffer.from('date,amount\n'),
      Buffer.alloc(8, 0xff),
      Buffer.alloc(3000, 0xfe),
    ]);
    const res = await postCsv(tally.url, new Uint8Array(bytes));
    expect(res.status).toBe(202);
    const status = await waitForFinal(tally.url, res.body.jobId);
    expect(status).toMatchObject({ state: 'failed', error: { code: 'NO_VALID_ROWS' } });
    expect(status.error.message).toMatch(/read as windows-1252/);
    // Control bytes are binary in any encoding: still 422.
    const binary = await postCsv(tally.url, new Uint8Array(Buffer.from('date,amount\n2024-01-01,\u00015\n')));
    expect(binary.status).toBe(422);
  });

  it('poison cells reject or clean their row, fail nothing, and stay out of error_message', async () => {
    const filler = '2024-01-01,1.00,c\n'.repeat(5000); // the head is clean; the poison comes after 64 KiB
    const text = `date,amount,customer\n${filler}2024-01-02,"${'1'.repeat(400)}",x\n2024-01-03,2.00,"ev\u0000il"\n`;
    const res = await postCsv(tally.url, text);
    expect(res.status).toBe(202);
    const status = await waitForFinal(tally.url, res.body.jobId);
    expect(status).toMatchObject({ state: 'completed', attempts: 1 });
    const result = await trpcQuery(tally.url, 'jobs.result', { jobId: res.body.jobId });
    const data = result.body.result.data;
    expect(data.rows).toMatchObject({ total: 5002, valid: 5001, rejected: 1 });
    expect(data.currencies[0].topCustomers.map((c: { key: string }) => c.key)).toEqual(['c', 'evil']);

    const failed = await postCsv(tally.url, 'date,amount,customer\nSSN 123-45-6789,1,x\n');
    const failure = await waitForFinal(tally.url, failed.body.jobId);
    expect(failure).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'NO_VALID_ROWS' } });
    expect(failure.error.message).not.toMatch(/SSN|123-45-6789/);
    expect(failure.error.details.help).toMatch(/date "SSN 123-45-6789" is not a date/);
  });

  it('an unclosed quote is bounded by the record limit and fails the job naming its line', async () => {
    // Everything after an unclosed quote is one quoted field as far as RFC 4180 goes, so
    // no later row can be trusted: the job fails, naming the line where the quote opened,
    // after reading at most MAX_RECORD_BYTES into it (no out-of-memory on a 200 MB file).
    const good = '2024-01-01,1.00\n'.repeat(1000);
    const csv = `date,amount\n${good}2024-01-02,"12.00\n${'2024-01-03,1.00\n'.repeat(200_000)}`;
    const res = await postCsv(tally.url, csv);
    expect(res.status).toBe(202);
    const status = await waitForFinal(tally.url, res.body.jobId, {}, 60_000);
    expect(status).toMatchObject({ state: 'failed', error: { code: 'INVALID_CSV' } });
    expect(status.error.message).toMatch(/line 1002/);
    expect(status.error.message).toMatch(/quote/);
  });
});
