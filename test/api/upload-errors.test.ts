import net from 'node:net';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { postCsv } from '../support/http.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';

const GOOD = 'date,amount\n2024-01-05,10.00\n';
const MAX_UPLOAD_BYTES = 4096;

let tally: TestTally;
let sql: pg.Pool;

beforeAll(async () => {
  // No workers: these tests are about what the API stores, not what workers do with it.
  tally = await startTestTally({ role: 'api', env: { MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES) } });
  sql = tally.database.sql; // closed by tally.stop()
});
afterAll(async () => {
  await tally?.stop();
});

/** After every refused upload: no job, no stored bytes, no staging, no queue entry. */
afterEach(async () => {
  const { rows } = await sql.query(`
    select (select count(*)::int from jobs) as jobs,
           (select count(*)::int from job_file_chunks) as chunks,
           (select count(*)::int from staged_uploads) as staged,
           (select count(*)::int from pgboss.job) as queued`);
  expect(rows[0]).toEqual({ jobs: 0, chunks: 0, staged: 0, queued: 0 });
});

async function rawPost(body: string | Buffer, headers: Record<string, string>) {
  const payload = typeof body === 'string' ? body : new Uint8Array(body);
  const res = await fetch(`${tally.url}/api/jobs`, { method: 'POST', body: payload, headers });
  return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } } };
}

function multipart(parts: { name: string; filename?: string; content: string | Buffer }[]) {
  const boundary = 'tallyboundary';
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename === undefined ? '' : `; filename="${p.filename}"`}`;
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n\r\n`),
      Buffer.from(p.content),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return {
    body: Buffer.concat(chunks),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}

describe('upload errors (docs/reference.md, Errors)', () => {
  it.each([
    ['JSON', '{"file":"x"}', 'application/json'],
    ['plain text', GOOD, 'text/plain'],
    ['a CSV body', GOOD, 'text/csv'],
  ])('415 UNSUPPORTED_MEDIA_TYPE for %s', async (_name, body, contentType) => {
    const res = await rawPost(body, { 'content-type': contentType });
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(res.body.error.message).toMatch(/multipart\/form-data/);
  });

  it('400 BAD_REQUEST without a file part', async () => {
    const m = multipart([{ name: 'options', content: '{}' }]);
    const res = await rawPost(m.body, m.headers);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(/part named "file"/),
    });
  });

  it('400 BAD_REQUEST for two files', async () => {
    const m = multipart([
      { name: 'file', filename: 'a.csv', content: GOOD },
      { name: 'file', filename: 'b.csv', content: GOOD },
    ]);
    const res = await rawPost(m.body, m.headers);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/exactly one file/);
  });

  it('400 BAD_REQUEST for malformed multipart', async () => {
    const res = await rawPost('this is not multipart at all', {
      'content-type': 'multipart/form-data; boundary=xyz',
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('BAD_REQUEST');
  });

  it.each([
    ['not JSON', '{columns:', /not valid JSON/],
    // The API's one sentence for invalid input, naming the option as the person wrote it.
    ['a wrong type', JSON.stringify({ delimiter: 'x' }), /^The input is not valid: options\.delimiter: /],
    ['an unknown key', JSON.stringify({ colums: {} }), /colums|unrecognized/i],
    ['a bad currency', JSON.stringify({ currency: 'dollars' }), /currency/],
  ])('400 BAD_REQUEST for options that are %s', async (_name, options, message) => {
    const res = await postCsv(tally.url, GOOD, { options });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('BAD_REQUEST');
    expect(res.body.error.message).toMatch(message);
  });

  it('413 FILE_TOO_LARGE over MAX_UPLOAD_BYTES, partial file deleted', async () => {
    const big = `date,amount\n${'2024-01-05,10.00\n'.repeat(1000)}`;
    expect(big.length).toBeGreaterThan(MAX_UPLOAD_BYTES);
    const res = await postCsv(tally.url, big);
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('FILE_TOO_LARGE');
    expect(res.body.error.message).toMatch(/4 KiB/);
  });

  it('answers 413 promptly while the client is still sending', async () => {
    // A 64 MiB body announced up front; the server must answer after the first few KiB
    // rather than read it all.
    const boundary = 'b0undary';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\ndate,amount\n`;
    const port = Number(new URL(tally.url).port);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      let received = '';
      socket.on('data', (d) => {
        received += d.toString();
        if (received.includes('\r\n\r\n')) resolve(received);
      });
      socket.on('error', (e) => (received ? resolve(received) : reject(e)));
      socket.write(
        `POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n${head}`,
      );
      const row = Buffer.from('2024-01-05,10.00\n'.repeat(64));
      let sent = 0;
      const pump = () => {
        while (sent < 1024 * 1024 && !socket.destroyed) {
          sent += row.length;
          if (!socket.write(row)) return socket.once('drain', pump);
        }
      };
      pump();
    });
    expect(answer).toMatch(/^HTTP\/1.1 413/);
  });

  it('422 INVALID_CSV for an empty file', async () => {
    const res = await postCsv(tally.url, '');
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INVALID_CSV');
  });

  it('422 INVALID_CSV for binary data named .csv', async () => {
    const binary = new Uint8Array(2048).map((_, i) => (i * 7919) % 256);
    const res = await postCsv(tally.url, binary, { filename: 'revenue.csv' });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INVALID_CSV');
  });

  it('422 INVALID_CSV naming the headers when no amount column can be found', async () => {
    const res = await postCsv(tally.url, 'date,colour\n2024-01-05,red\n');
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('INVALID_CSV');
    expect(res.body.error.message).toMatch(/amount/i);
    expect(res.body.error.message).toMatch(/colour/);
  });

  it('422 INVALID_CSV when a mapped column is not in the file', async () => {
    const res = await postCsv(tally.url, GOOD, { options: { columns: { amount: 'Total' } } });
    expect(res.status).toBe(422);
    expect(res.body.error.message).toMatch(/Total/);
  });
});

describe('a failure inside the upload transaction leaves nothing behind', () => {
  it('rolls back job, bytes and queue entry together', async () => {
    // A real fault in the real database: the third 1 MiB chunk's insert raises.
    await sql.query(`
      create function fail_third_chunk() returns trigger language plpgsql as $$
      begin if new.seq = 2 then raise exception 'disk full (injected)'; end if; return new; end $$;
      create trigger fail_third_chunk before insert on job_file_chunks
        for each row execute function fail_third_chunk();`);
    try {
      const bigTally = await startTestTally({ role: 'api', database: tally.database });
      try {
        const rows = '2024-01-05,10.00\n'.repeat(200_000); // ~3.4 MB: three chunks
        const res = await postCsv(bigTally.url, `date,amount\n${rows}`);
        expect(res.status).toBe(500);
        expect(res.body.error.code).toBe('INTERNAL');
      } finally {
        await bigTally.stop();
      }
    } finally {
      await sql.query('drop trigger fail_third_chunk on job_file_chunks; drop function fail_third_chunk();');
    }
  });
});
