import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { sweepStagedUploads } from '../../src/db/jobs/staged-uploads.ts';
import { withVerifiedReads } from '../../src/files/create-stored-files.ts';
import { PostgresStoredFiles } from '../../src/files/postgres/postgres-stored-files.ts';
import { FILE_CHUNK_BYTES } from '../../src/files/postgres/read-file-chunks.ts';
import { verifiedRead } from '../../src/files/verified-read.ts';
import { thisProcess } from '../../src/lib/process-identity.ts';
import { useTestDb } from '../support/app-db.ts';
import { waitUntil } from '../support/wait-until.ts';

// The seam (src/files/stored-files.ts) on its PostgreSQL store, against a real database:
// a staging suspended by one request and resumed by another (a resumable upload, any host)
// ends with the file's exact bytes and SHA-256; the sweep leaves it alone until its deadline;
// and reads are verified whatever the store.

const testDb = useTestDb();
const silent = { warn: () => undefined };
const LEASE_MS = 60_000;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function readAll(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of source) parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}

async function collect(source: AsyncIterable<Buffer>): Promise<unknown> {
  try {
    await readAll(source);
    return 'read to the end';
  } catch (error) {
    return error;
  }
}

describe('a resumable staging', () => {
  it('is suspended mid-file, kept by the sweep, resumed at its offset, and finishes with the whole file’s hash', async () => {
    const files = new PostgresStoredFiles(testDb.db, LEASE_MS, silent);
    const file = randomBytes(2 * FILE_CHUNK_BYTES + 4321);
    const keepUntil = new Date(Date.now() + 3_600_000);

    // The first request: 1.5 chunks, then the connection ends.
    const first = files.stage({ keepUntil });
    await first.write(file.subarray(0, 1_500_000));
    await first.suspend(keepUntil);
    expect(first.offset).toBe(1_500_000);

    // Its writer is gone (this process's instance no longer matches): a plain staging would
    // be swept at once; a resumable one is held by its deadline, not by its writer.
    const successor = { ...thisProcess, instance: '00000000-0000-4000-8000-000000000000' };
    expect(await sweepStagedUploads(testDb.db.kysely, { leaseMs: LEASE_MS, self: successor })).toEqual([]);
    expect(await sweepStagedUploads(testDb.db.kysely, { leaseMs: 1, self: thisProcess })).toEqual([]);

    // The next request, on any host: resumed at the committed offset.
    const second = await files.resume(first.id, { keepUntil });
    expect(second.offset).toBe(1_500_000);
    await second.write(file.subarray(1_500_000, 2_000_000));
    await second.write(file.subarray(2_000_000));
    const staged = await second.finish();
    expect(staged).toMatchObject({ id: first.id, bytes: file.length, sha256: sha256(file) });
    expect(staged.head.equals(file.subarray(0, staged.head.length))).toBe(true);

    const read = withVerifiedReads(files).read({ jobId: first.id, bytes: file.length, sha256: sha256(file) });
    expect((await readAll(read)).equals(file)).toBe(true);
    expect(read.verified).toBe(true);
    await second.discard();
    expect(await files.resume(first.id).catch((e: unknown) => e)).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
    });
  });

  it('keeps what was committed when its writer dies mid-request, and resumes there', async () => {
    const files = new PostgresStoredFiles(testDb.db, LEASE_MS, silent);
    const writer = files.stage({ keepUntil: new Date(Date.now() + 3_600_000) });
    await writer.write(randomBytes(1_500_000)); // one chunk staged, half a chunk in memory
    await waitUntil(async () => (await testDb.db.pool.query('select 1 from staged_uploads')).rowCount === 1, {
      what: 'the first chunk committed (idle commit)',
    });
    const successor = { ...thisProcess, instance: '00000000-0000-4000-8000-000000000000' };
    expect(await sweepStagedUploads(testDb.db.kysely, { leaseMs: LEASE_MS, self: successor })).toEqual([]);
    expect(await sweepStagedUploads(testDb.db.kysely, { leaseMs: 1, self: thisProcess })).toEqual([]);
    const resumed = await files.resume(writer.id);
    expect(resumed.offset).toBe(FILE_CHUNK_BYTES); // what the client is told to send from
    await resumed.discard();
    await writer.discard();
  });

  it('is swept once its deadline has passed', async () => {
    const files = new PostgresStoredFiles(testDb.db, LEASE_MS, silent);
    const staging = files.stage();
    await staging.write(randomBytes(10));
    await staging.suspend(new Date(Date.now() + 1000)); // a deadline inside the lease
    await testDb.db.pool.query(
      `update staged_uploads set heartbeat_at = heartbeat_at - interval '2 minutes'`,
    );
    expect(await files.sweepOrphans()).toEqual([staging.id]);
    const { rows } = await testDb.db.pool.query('select count(*)::int as n from job_file_chunks');
    expect(rows[0].n).toBe(0);
  });
});

describe('a verified read', () => {
  const bytes = Buffer.from('date,amount\n2024-01-01,1\n');
  const ref = { jobId: 'j', bytes: bytes.length, sha256: sha256(bytes) };
  const source = (...parts: Buffer[]): AsyncIterable<Buffer> => Readable.from(parts);

  it('passes the stored bytes through and says so at the end', async () => {
    const read = verifiedRead(source(bytes.subarray(0, 5), bytes.subarray(5)), ref);
    expect(read.verified).toBe(false);
    expect((await readAll(read)).equals(bytes)).toBe(true);
    expect(read.verified).toBe(true);
  });

  it.each([
    ['short', [bytes.subarray(0, -1)]],
    ['long', [bytes, Buffer.from('x')]],
    ['changed', [Buffer.from(bytes.toString().replace('1,1', '1,9'))]],
    ['empty', []],
  ])('fails FILE_CORRUPT when the bytes read are %s', async (_how, parts) => {
    const read = verifiedRead(source(...parts), ref);
    expect(await collect(read)).toMatchObject({
      code: 'FILE_CORRUPT',
      message: 'The stored file does not read back as it was uploaded; upload it again.',
    });
    expect(read.verified).toBe(false);
  });
});
