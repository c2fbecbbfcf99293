import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trpcQuery, waitForFinal } from '../support/http.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';
import { createUpload, deleteUpload, headUpload, patchUpload, TUS } from './tus-http.ts';
import { startStore, type StoreUnderTest } from './stores.ts';

// CONTRACT §2.2 over raw HTTP, against both stores (§8). Four rows by hand: revenue
// 100.00 + 50.50 - 20.00 + 30.25 = 160.75.
const CSV = Buffer.from(
  [
    'date,amount,customer',
    '2024-01-05,100.00,alice',
    '2024-01-20,50.50,bob',
    '2024-02-03,-20.00,alice',
    '2024-03-10,30.25,carol',
  ].join('\n'),
);
const ALICE = 'alice-token-3f9a2c7e1b8d4a6f';
const BOB = 'bob-token-8e1d5c3b9a7f2e6d';
const asAlice = { authorization: `Bearer ${ALICE}` };
const asBob = { authorization: `Bearer ${BOB}` };

describe.each(['postgres', 's3'] as const)('tus at /api/uploads, FILE_STORE=%s', (storeName) => {
  let store: StoreUnderTest;
  let tally: TestTally;
  let second: TestTally; // another API host on the same database (and bucket)

  beforeAll(async () => {
    store = await startStore(storeName);
    const env = { ...store.env, API_TOKENS: `alice:${ALICE},bob:${BOB}` };
    tally = await startTestTally({ env });
    second = await startTestTally({ env, role: 'api', database: tally.database });
  });
  afterAll(async () => {
    await second?.stop();
    await tally?.stop();
    await store?.stop();
  });

  it('creates, resumes on another API host, and completes into a job with exact figures', async () => {
    const created = await createUpload(tally.url, CSV.length, { filename: 'sales.csv' }, asAlice);
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toMatch(/^\/api\/uploads\/[0-9a-f-]{36}$/);
    expect(created.headers.get('tus-resumable')).toBe('1.0.0');

    const first = await patchUpload(created.url, 0, CSV.subarray(0, 40), asAlice);
    expect(first.status).toBe(204);
    expect(first.headers.get('upload-offset')).toBe('40');
    expect(first.headers.get('tally-job-id')).toBeNull();

    // The second host sees the offset and takes the rest; a wrong offset is 409.
    const onSecond = created.url.replace(tally.url, second.url);
    const head = await headUpload(onSecond, asAlice);
    expect(head.status).toBe(200);
    expect(head.headers.get('upload-offset')).toBe('40');
    expect(head.headers.get('upload-length')).toBe(String(CSV.length));
    expect((await patchUpload(onSecond, 10, CSV.subarray(10), asAlice)).status).toBe(409);

    const last = await patchUpload(onSecond, 40, CSV.subarray(40), asAlice);
    expect(last.status).toBe(204);
    const jobId = last.headers.get('tally-job-id');
    expect(jobId).toMatch(/^[0-9a-f-]{36}$/);

    const status = await waitForFinal(tally.url, jobId!, asAlice);
    expect(status).toMatchObject({ state: 'completed', filename: 'sales.csv', bytes: CSV.length });
    // The whole file's CRC-32, though the host that completed it saw only the last PATCH (it
    // read the stored bytes back).
    const stored = await tally.database.sql.query('select crc32::text as crc32 from jobs where id = $1', [
      jobId,
    ]);
    expect(stored.rows).toEqual([{ crc32: String(crc32(CSV)) }]);
    const result = await trpcQuery(tally.url, 'jobs.result', { jobId }, asAlice);
    expect(result.body.result.data.currencies[0].totals).toMatchObject({ revenue: 160.75, refunds: 20 });

    // A client that lost the last answer learns the job from HEAD, or from the PATCH again.
    const after = await headUpload(created.url, asAlice);
    expect(after.headers.get('upload-offset')).toBe(String(CSV.length));
    expect(after.headers.get('tally-job-id')).toBe(jobId);
    const again = await patchUpload(created.url, CSV.length, '', asAlice);
    expect([again.status, again.headers.get('tally-job-id')]).toEqual([204, jobId]);
  });

  it("keeps owners apart: another owner's upload id is 404 for every method", async () => {
    const created = await createUpload(tally.url, CSV.length, undefined, asAlice);
    expect((await headUpload(created.url, asBob)).status).toBe(404);
    expect((await patchUpload(created.url, 0, CSV, asBob)).status).toBe(404);
    expect((await deleteUpload(created.url, asBob)).status).toBe(404);
    expect((await headUpload(created.url, asAlice)).headers.get('upload-offset')).toBe('0');
    expect((await headUpload(created.url)).status).toBe(401);
  });

  it('DELETE discards an unfinished upload and its stored bytes', async () => {
    const created = await createUpload(tally.url, CSV.length, undefined, asAlice);
    const id = created.url.split('/').pop()!;
    expect((await patchUpload(created.url, 0, CSV.subarray(0, 30), asAlice)).status).toBe(204);
    expect(await store.storedPieces(tally.database.sql, id)).toBeGreaterThan(0);
    const deleted = await deleteUpload(created.url, asAlice);
    expect(deleted.status).toBe(204);
    expect(deleted.headers.get('tus-resumable')).toBe('1.0.0');
    expect((await headUpload(created.url, asAlice)).status).toBe(404);
    expect(await store.storedPieces(tally.database.sql, id)).toBe(0);
  });

  it('checks the head as POST /api/jobs does: 422 instead of a job, and the upload is gone', async () => {
    const binary = Buffer.from([0x25, 0x50, 0x44, 0x46, 0x2d, 0x31, 0x2e, 0x37, 0x00, 0x01, 0x02, 0xff]);
    const created = await createUpload(tally.url, binary.length, { filename: 'x.pdf' }, asAlice);
    const id = created.url.split('/').pop()!;
    const last = await patchUpload(created.url, 0, binary, asAlice);
    expect(last.status).toBe(422);
    expect(last.body.error.code).toBe('INVALID_CSV');
    expect(last.headers.get('tally-job-id')).toBeNull();
    expect((await headUpload(created.url, asAlice)).status).toBe(404);
    const jobs = await tally.database.sql.query('select 1 from jobs where id = $1', [id]);
    expect(jobs.rowCount).toBe(0);
    expect(await store.storedPieces(tally.database.sql, id)).toBe(0);
  });

  it('answers the protocol errors: no Tus-Resumable 412, bad content type 415, too long 413', async () => {
    const noVersion = await fetch(`${tally.url}/api/uploads`, {
      method: 'POST',
      headers: { ...asAlice, 'upload-length': '10' },
    });
    expect(noVersion.status).toBe(412);
    expect(noVersion.headers.get('tus-version')).toBe('1.0.0');
    expect(noVersion.headers.get('tus-resumable')).toBe('1.0.0');
    const tooLong = await createUpload(tally.url, 2 * 1024 ** 3, undefined, asAlice);
    expect([tooLong.status, tooLong.body.error.code]).toEqual([413, 'FILE_TOO_LARGE']);
    const created = await createUpload(tally.url, CSV.length, undefined, asAlice);
    const wrongType = await patchUpload(created.url, 0, CSV, { ...asAlice, 'content-type': 'text/csv' });
    expect(wrongType.status).toBe(415);
    const badOptions = await createUpload(
      tally.url,
      10,
      { filename: 'a.csv', options: '{"nope":1}' },
      asAlice,
    );
    expect(badOptions.status).toBe(400);
    const noLength = await fetch(`${tally.url}/api/uploads`, {
      method: 'POST',
      headers: { ...TUS, ...asAlice },
    });
    expect(noLength.status).toBe(400);
  });

  it('discards an upload not finished within RESUMABLE_UPLOAD_TTL_HOURS', async () => {
    const created = await createUpload(tally.url, CSV.length, undefined, asAlice);
    const id = created.url.split('/').pop()!;
    expect((await patchUpload(created.url, 0, CSV.subarray(0, 30), asAlice)).status).toBe(204);
    // Backdate instead of waiting 24 h: the row's deadline and its staging's (keepUntil − lease).
    await tally.database.sql.query(
      `update resumable_uploads set expires_at = now() - interval '1 s' where id = $1`,
      [id],
    );
    await tally.database.sql.query(
      `update staged_uploads set heartbeat_at = now() - interval '1 day' where id = $1`,
      [id],
    );
    expect((await headUpload(created.url, asAlice)).status).toBe(404);
    await tally.maintenance!.runOnce();
    const rows = await tally.database.sql.query(
      'select 1 from resumable_uploads where id = $1 union all select 1 from staged_uploads where id = $1',
      [id],
    );
    expect(rows.rowCount).toBe(0);
    expect(await store.storedPieces(tally.database.sql, id)).toBe(0);
  });
});
