import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Db } from '../../src/db/database.ts';
import { insertAdopting } from '../../src/db/jobs/insert-job.ts';
import { createLogger } from '../../src/logger.ts';
import { PostgresStoredFiles } from '../../src/files/postgres/postgres-stored-files.ts';
import { createS3Client } from '../../src/files/s3-settings.ts';
import { PART_BYTES } from '../../src/files/s3-part-pipeline.ts';
import { S3StoredFiles } from '../../src/files/s3-stored-files.ts';
import type { Staging } from '../../src/files/stored-files.ts';
import { useTestDb } from '../support/app-db.ts';
import { startTestS3, type TestS3 } from '../support/s3-server.ts';

const log = createLogger('silent');
const MiB = 1024 * 1024;
const testDb = useTestDb({ max: 4 });
let s3: TestS3;

beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  await s3?.stop();
});

/** A store as one API host has it: its own S3 client, the shared database and bucket. */
function storeOf(db: Db, client = createS3Client(s3.settings)): S3StoredFiles {
  return new S3StoredFiles(s3.settings, db, 60_000, log, new PostgresStoredFiles(db, 60_000, log), client);
}

/** Writes `data` in uneven pieces, as a socket delivers them. */
async function writeInPieces(staging: Staging, data: Buffer): Promise<void> {
  let at = 0;
  let piece = 1;
  while (at < data.length) {
    const n = Math.min(data.length - at, 65_536 * piece);
    await staging.write(data.subarray(at, at + n));
    at += n;
    piece = (piece % 7) + 1;
  }
}

async function readAll(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of source) parts.push(p);
  return Buffer.concat(parts);
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** jobs.crc32 as stored, by plain SQL (null: none). */
async function storedCrc32(db: Db, jobId: string): Promise<number | null> {
  const { rows } = await db.pool.query<{ crc32: string | null }>(
    'select crc32::text as crc32 from jobs where id = $1',
    [jobId],
  );
  return rows[0]!.crc32 === null ? null : Number(rows[0]!.crc32);
}

async function newJobFor(db: Db, files: S3StoredFiles, staging: Staging): Promise<string> {
  const file = await staging.finish();
  const adopted = await db.kysely.transaction().execute((trx) =>
    insertAdopting(
      trx,
      'local',
      files.adoption(file, {
        id: file.id,
        owner: 'local',
        filename: 'f.csv',
        bytes: file.bytes,
        sha256: file.sha256,
        crc32: file.crc32,
        compression: 'none',
        options: {},
        delimiter: ',',
      }),
    ),
  );
  expect(adopted).toEqual({ othersInFlight: expect.any(Number) }); // undefined: the staging was gone
  return file.id;
}

describe('S3 staging', () => {
  test('a multi-part upload becomes one object the job owns, read back byte for byte', async () => {
    const { db } = testDb;
    const files = storeOf(db);
    const data = randomBytes(2 * PART_BYTES + 3 * MiB + 17);
    const staging = files.stage();
    await writeInPieces(staging, data);
    const jobId = await newJobFor(db, files, staging);

    const job = await db.kysely
      .selectFrom('jobs')
      .selectAll()
      .where('id', '=', jobId)
      .executeTakeFirstOrThrow();
    expect({ bytes: job.bytes, sha256: job.sha256 }).toEqual({ bytes: data.length, sha256: sha256(data) });
    expect(await storedCrc32(db, jobId)).toBe(crc32(data));
    expect((job as unknown as { file_store: string }).file_store).toBe('s3');
    expect(await s3.keys()).toContain(`${s3.prefix}${jobId}`);
    expect(await s3.openMultipartUploads()).toEqual([]);
    const staged = await db.pool.query(
      'select 1 from staged_uploads union all select 1 from s3_multipart_uploads',
    );
    expect(staged.rowCount).toBe(0);
    expect((await readAll(files.readStored(jobId))).equals(data)).toBe(true);
  });

  test('file bytes go out as UNSIGNED-PAYLOAD in signed requests; other requests hash theirs', async () => {
    const client = createS3Client(s3.settings);
    const sent: { command: string; payload: string; signed: boolean }[] = [];
    // The deserialize step sees each request as it goes on the wire, signed.
    client.middlewareStack.add(
      (next, context) => (args) => {
        const { headers } = args.request as { headers: Record<string, string> };
        sent.push({
          command: context.commandName ?? '',
          payload: headers['x-amz-content-sha256'] ?? '',
          signed: /Signature=/.test(headers.authorization ?? ''),
        });
        return next(args);
      },
      { step: 'deserialize' },
    );
    const { db } = testDb;
    const files = storeOf(db, client);
    const data = randomBytes(PART_BYTES + 100);
    const staging = files.stage();
    await writeInPieces(staging, data);
    const jobId = await newJobFor(db, files, staging);
    expect((await readAll(files.readStored(jobId))).equals(data)).toBe(true);
    const payloadOf = (command: string) => sent.filter((s) => s.command === command).map((s) => s.payload);
    expect(payloadOf('UploadPartCommand')).toEqual(['UNSIGNED-PAYLOAD', 'UNSIGNED-PAYLOAD']);
    expect(payloadOf('CompleteMultipartUploadCommand')[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(sent.every((s) => s.signed)).toBe(true);
  });

  test('a file smaller than a part is one PUT', async () => {
    const { db } = testDb;
    const files = storeOf(db);
    const data = Buffer.from('date,amount\n2026-01-02,10.00\n');
    const staging = files.stage();
    await staging.write(data);
    const jobId = await newJobFor(db, files, staging);
    expect((await readAll(files.readStored(jobId))).toString()).toBe(data.toString());
    expect(await s3.openMultipartUploads()).toEqual([]);
  });

  test('a discarded upload leaves no object, no open multipart upload and no rows', async () => {
    const { db } = testDb;
    const files = storeOf(db);
    const staging = files.stage();
    await writeInPieces(staging, randomBytes(3 * PART_BYTES + MiB));
    expect(await s3.openMultipartUploads()).toHaveLength(1); // parts went out as they filled
    await staging.discard();
    expect(await s3.openMultipartUploads()).toEqual([]);
    expect((await s3.keys()).filter((k) => k.includes(staging.id))).toEqual([]);
    const rows = await db.pool.query(
      'select id from staged_uploads where id = $1 union all select id from s3_multipart_uploads where id = $1',
      [staging.id],
    );
    expect(rows.rowCount).toBe(0);
  });

  test('suspended on one host, resumed on another, twice: the object is the whole file', async () => {
    const { db } = testDb;
    const data = randomBytes(PART_BYTES * 2 + 5 * MiB + 3);
    const cuts = [3 * MiB, PART_BYTES + 6 * MiB]; // a tail under 5 MiB, then one over
    const keepUntil = new Date(Date.now() + 3_600_000);
    const first = storeOf(db).stage({ keepUntil });
    await first.suspend(keepUntil); // created, no byte yet (POST /api/uploads)
    let id = first.id;
    let at = 0;
    for (const cut of [...cuts, data.length]) {
      const host = storeOf(db); // another API host each time
      const staging = await host.resume(id, { keepUntil });
      expect(staging.offset).toBe(at);
      await writeInPieces(staging, data.subarray(at, cut));
      at = cut;
      if (cut < data.length) await staging.suspend(keepUntil);
      else id = await newJobFor(db, host, staging);
    }
    const files = storeOf(db);
    expect((await readAll(files.readStored(id))).equals(data)).toBe(true);
    const job = await db.kysely
      .selectFrom('jobs')
      .select(['sha256'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(job.sha256).toBe(sha256(data));
    expect(await storedCrc32(db, id)).toBe(crc32(data)); // read back from the object, as the SHA-256
    expect((await s3.keys()).filter((k) => k.endsWith('.tail'))).toEqual([]);
    expect(await s3.openMultipartUploads()).toEqual([]);
  });

  test('a re-run copies the object server-side; the copy reads back the same', async () => {
    const { db } = testDb;
    const files = storeOf(db);
    const data = randomBytes(PART_BYTES + 100);
    const staging = files.stage();
    await writeInPieces(staging, data);
    const jobId = await newJobFor(db, files, staging);
    const rerunId = '01900000-0000-7000-8000-000000000001';
    await db.kysely.transaction().execute(async (trx) => {
      await trx
        .insertInto('jobs')
        .values({
          id: rerunId,
          owner: 'local',
          state: 'queued',
          filename: 'f.csv',
          bytes: data.length,
          sha256: sha256(data),
          compression: 'none',
          options: '{}',
          delimiter: ',',
        })
        .execute();
      await files.reuse(trx, { jobId, bytes: data.length, sha256: sha256(data) }, rerunId);
    });
    const head = await s3.client.send(
      new HeadObjectCommand({ Bucket: s3.bucket, Key: `${s3.prefix}${rerunId}` }),
    );
    expect(head.ContentLength).toBe(data.length);
    expect((await readAll(files.readStored(rerunId))).equals(data)).toBe(true);
  });
});
