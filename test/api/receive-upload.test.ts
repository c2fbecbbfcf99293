import { PassThrough, Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { receiveUpload } from '../../src/api/upload/receive-upload.ts';
import type { PostgresStagedFile } from '../../src/files/postgres/postgres-staging.ts';
import { PostgresStoredFiles } from '../../src/files/postgres/postgres-stored-files.ts';
import { FILE_CHUNK_BYTES } from '../../src/files/postgres/read-file-chunks.ts';
import type { Staging } from '../../src/files/stored-files.ts';
import { useTestDb } from '../support/app-db.ts';
import { waitUntil } from '../support/wait-until.ts';

// The receiver alone, on real busboy and a real PostgreSQL: a file larger than a chunk is
// staged as it arrives, a small one stays in hand, and every way an upload can fail leaves
// nothing staged once the caller discards (as the route does on every non-job path).

const boundary = 'receivetest';
const headers = { 'content-type': `multipart/form-data; boundary=${boundary}` };
const limits = {
  maxFileBytes: 8 * FILE_CHUNK_BYTES,
  idleTimeoutMs: 5000,
  minBytesPerSecond: 0,
  rateGraceMs: 1000,
};
const part = (name: string, filename: string, content: string | Buffer) =>
  Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\n\r\n`,
    ),
    Buffer.from(content),
    Buffer.from('\r\n'),
  ]);
const end = Buffer.from(`--${boundary}--\r\n`);
const silent = { warn: () => undefined };

const testDb = useTestDb();
const newStaging = () => new PostgresStoredFiles(testDb.db, 60_000, silent).stage();
const inHand = (file: unknown) => (file as PostgresStagedFile).inHand;

async function stagedState() {
  const { rows } = await testDb.db.pool.query<{ staged: number; chunks: number }>(
    `select (select count(*)::int from staged_uploads) as staged, (select count(*)::int from job_file_chunks) as chunks`,
  );
  return rows[0];
}
afterEach(async () => {
  await testDb.db.pool.query('delete from staged_uploads; delete from job_file_chunks');
});

/** Receives, and on failure discards as the route does; resolves to the outcome. */
async function receive(body: Readable, staging: Staging = newStaging()) {
  try {
    return { staging, received: await receiveUpload(body, headers, staging, limits) };
  } catch (error) {
    await staging.discard();
    throw error;
  }
}

describe('receiveUpload', () => {
  it('keeps a file smaller than one chunk in hand, staging nothing, with its size, hash and head', async () => {
    const csv = 'date,amount\n2024-01-01,1\n';
    const { received } = await receive(Readable.from([Buffer.concat([part('file', 'a.csv', csv), end])]));
    expect(received).toMatchObject({ filename: 'a.csv', file: { bytes: csv.length } });
    expect(received.file.head.toString()).toBe(csv);
    expect(inHand(received.file)?.toString()).toBe(csv);
    expect(received.file.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(await stagedState()).toEqual({ staged: 0, chunks: 0 });
  });

  it('stages a multi-chunk file in order as it arrives, exact bytes', async () => {
    const bytes = Buffer.alloc(2 * FILE_CHUNK_BYTES + 12345);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >> 11)) & 0xff;
    const { staging, received } = await receive(Readable.from([part('file', 'big.bin', bytes), end]));
    expect(inHand(received.file)).toBeUndefined();
    expect(received.file.bytes).toBe(bytes.length);
    const { rows } = await testDb.db.pool.query<{ data: Buffer }>(
      'select data from job_file_chunks where job_id = $1 order by seq',
      [staging.id],
    );
    expect(rows.map((r) => r.data.length)).toEqual([FILE_CHUNK_BYTES, FILE_CHUNK_BYTES, 12345]);
    expect(Buffer.concat(rows.map((r) => r.data)).equals(bytes)).toBe(true);
    expect(await stagedState()).toEqual({ staged: 1, chunks: 3 });
  });

  it('refuses a second file and leaves nothing staged', async () => {
    const big = Buffer.alloc(FILE_CHUNK_BYTES + 10, 0x41);
    const body = Readable.from([
      Buffer.concat([part('file', 'a.csv', big), part('file', 'b.csv', 'x'), end]),
    ]);
    await expect(receive(body)).rejects.toThrow(/exactly one file/);
    expect(await stagedState()).toEqual({ staged: 0, chunks: 0 });
  });

  it('refuses an oversized file with FILE_TOO_LARGE and deletes the chunks staged so far', async () => {
    const body = Readable.from([part('file', 'a.csv', Buffer.alloc(9 * FILE_CHUNK_BYTES, 0x41)), end]);
    await expect(receive(body)).rejects.toMatchObject({ code: 'FILE_TOO_LARGE' });
    expect(await stagedState()).toEqual({ staged: 0, chunks: 0 });
  });

  it('cleans up when the client goes away mid-file, after chunks were staged', async () => {
    const body = new PassThrough();
    const staging = newStaging();
    const pending = receive(body, staging);
    body.write(part('file', 'a.csv', Buffer.alloc(3 * FILE_CHUNK_BYTES, 0x41)).subarray(0, -2));
    await waitUntil(() => staging.offset >= 2 * FILE_CHUNK_BYTES, { what: 'two chunks staged' });
    body.emit('aborted');
    await expect(pending).rejects.toThrow(/closed the connection/);
    expect(await stagedState()).toEqual({ staged: 0, chunks: 0 });
  });

  it('cuts off a stalled body after the idle timeout', async () => {
    const body = new PassThrough();
    const staging = newStaging();
    const pending = receiveUpload(body, headers, staging, { ...limits, idleTimeoutMs: 200 }).finally(() =>
      staging.discard(),
    );
    body.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\ndate,`);
    await expect(pending).rejects.toMatchObject({ code: 'REQUEST_TIMEOUT' });
    expect(await stagedState()).toEqual({ staged: 0, chunks: 0 });
  });

  it('reads UTF-8 filenames and drops C1 control characters', async () => {
    const name = 'Ums\u00e4tze \u58f2\u4e0a\u0085\u009b.csv'; // C1: NEL, CSI (busboy refuses C0 in headers itself)
    const { received } = await receive(
      Readable.from([Buffer.concat([part('file', name, 'date,amount\n'), end])]),
    );
    expect(received.filename).toBe('Ums\u00e4tze \u58f2\u4e0a.csv');
  });
});
