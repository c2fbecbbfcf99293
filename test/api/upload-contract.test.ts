import net from 'node:net';
import { gzipSync } from 'node:zlib';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { postCsv } from '../support/http.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';

// The upload route's answers that come before or instead of a job (docs/reference.md,
// "Uploading" and "Errors"), with auth on, against a real server over real HTTP.

const TOKEN = 'upload-contract-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const GOOD = 'date,amount\n2024-01-05,10.00\n';

let tally: TestTally;
let sql: pg.Pool;
beforeAll(async () => {
  tally = await startTestTally({ role: 'api', env: { API_TOKENS: `alice:${TOKEN}` } });
  sql = tally.database.sql; // closed by tally.stop()
});
afterAll(async () => {
  await tally?.stop();
});
/** Whatever a test did: no chunk without a job, nothing staged. */
afterEach(async () => {
  const { rows } = await sql.query(`
    select (select count(*)::int from staged_uploads) as staged,
           (select count(*)::int from job_file_chunks c where not exists (select 1 from jobs j where j.id = c.job_id)) as orphans`);
  expect(rows[0]).toEqual({ staged: 0, orphans: 0 });
});

async function jobCount(): Promise<number> {
  return (await sql.query('select count(*)::int as n from jobs')).rows[0].n;
}

/**
 * Sends the request line and headers of a large body plus its first bytes only, and
 * returns the answer: a server that waited for (or parsed) the body would never answer.
 */
function answerBeforeBody(headers: Record<string, string>, firstBytes: string): Promise<string> {
  const port = Number(new URL(tally.url).port);
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer before the body; got ${JSON.stringify(received)}`));
    }, 5000);
    socket.on('data', (d) => {
      received += d.toString();
      const end = received.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(received)?.[1];
      if (end >= 0 && length !== undefined && received.length >= end + 4 + Number(length)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(received);
      }
    });
    socket.on('error', (e) => (received ? resolve(received) : reject(e)));
    const lines = Object.entries({
      host: `127.0.0.1:${port}`,
      'content-length': String(1024 * 1024),
      ...headers,
    })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.write(`POST /api/jobs HTTP/1.1\r\n${lines}\r\n${firstBytes}`);
  });
}

function multipartBody(disposition: string, content: string | Buffer) {
  const boundary = 'contractboundary';
  return {
    body: Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n\r\n`),
      Buffer.from(content),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, ...auth },
  };
}

describe('before the body is read', () => {
  it('answers 401 to a JSON body without a token, without reading the body', async () => {
    const answer = await answerBeforeBody({ 'content-type': 'application/json' }, '{"file": "');
    expect(answer).toMatch(/^HTTP\/1.1 401/);
    expect(answer).toMatch(/"code":"UNAUTHORIZED"/);
  });

  it('answers 415 to a JSON body with a token, without reading the body', async () => {
    const answer = await answerBeforeBody({ 'content-type': 'application/json', ...auth }, '{"file": "');
    expect(answer).toMatch(/^HTTP\/1.1 415/);
    expect(answer).toMatch(/"code":"UNSUPPORTED_MEDIA_TYPE"/);
    expect(answer).toMatch(/multipart\/form-data/);
  });

  it('answers 401 to a multipart upload without a token', async () => {
    const res = await postCsv(tally.url, GOOD);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHORIZED');
  });
});

describe('the file part', () => {
  it('stores a UTF-8 filename as sent, without its C1 control characters', async () => {
    // Raw UTF-8 in the header, as browsers send it; U+0085 (NEL) is a C1 control.
    const m = multipartBody('form-data; name="file"; filename="Ums\u00e4tze \u58f2\u4e0a\u0085.csv"', GOOD);
    const res = await fetch(`${tally.url}/api/jobs`, {
      method: 'POST',
      body: new Uint8Array(m.body),
      headers: m.headers,
    });
    expect(res.status).toBe(202);
    const { jobId } = (await res.json()) as { jobId: string };
    const { rows } = await sql.query('select filename from jobs where id = $1', [jobId]);
    expect(rows[0].filename).toBe('Ums\u00e4tze \u58f2\u4e0a.csv');
  });

  it('says what is wrong with a "file" part that has no filename', async () => {
    const m = multipartBody('form-data; name="file"', GOOD);
    const res = await fetch(`${tally.url}/api/jobs`, {
      method: 'POST',
      body: new Uint8Array(m.body),
      headers: m.headers,
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('BAD_REQUEST');
    expect(body.error.message).toMatch(/no filename/);
    expect(body.error.message).not.toMatch(/^No file/);
  });

  it('refuses gzip inside gzip with 422 INVALID_CSV before any job exists', async () => {
    const before = await jobCount();
    const twice = new Uint8Array(gzipSync(gzipSync(GOOD.repeat(100))));
    const res = await postCsv(tally.url, twice, { filename: 'twice.csv.gz', headers: auth });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INVALID_CSV');
    expect(res.body.error.message).toMatch(/gzip inside gzip/);
    expect(await jobCount()).toBe(before);
  });
});

describe('Idempotency-Key', () => {
  it('returns the first job for the same file and refuses another file with 409', async () => {
    const headers = { ...auth, 'idempotency-key': 'monthly-export-2024-01' };
    const first = await postCsv(tally.url, GOOD, { headers });
    expect(first.status).toBe(202);
    const again = await postCsv(tally.url, GOOD, { headers });
    expect(again.status).toBe(200);
    expect(again.body.jobId).toBe(first.body.jobId);

    // Another file, large enough to have been staged before the key is looked at.
    const other = `date,amount\n${'2024-01-06,20.00\n'.repeat(150_000)}`;
    const before = await jobCount();
    const reused = await postCsv(tally.url, other, { headers });
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(reused.body.error.message).toMatch(/already used for another file/);
    expect(await jobCount()).toBe(before);
  });
});
