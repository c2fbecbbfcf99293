import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, spawnTally, type ChildTally } from '../support/child-process.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { postCsv, trpcQuery, waitForFinal } from '../support/http.ts';
import { startTestS3, type TestS3 } from '../support/s3-server.ts';
import { waitUntil } from '../support/wait-until.ts';
import { startHalfUpload } from '../support/half-upload.ts';

// FILE_STORE=s3 with real OS processes that share nothing but PostgreSQL and the bucket:
// a kill -9 mid-upload leaves an open multipart upload that the next start aborts, and one
// API with two workers runs uploads to exact results.

let s3: TestS3;
const children: ChildTally[] = [];
const databases: TestDatabase[] = [];

beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  for (const d of databases) await d.drop();
  await s3?.stop();
});

async function start(role: 'api' | 'worker', env: Record<string, string>): Promise<ChildTally> {
  const child = spawnTally('src/main.ts', [role], { ...s3.env, ...env });
  children.push(child);
  await child.waitForLog(/tally started/, 60_000);
  return child;
}

function salesCsv(rows: number, seed = 0): string {
  const lines = ['date,amount,customer'];
  for (let i = 0; i < rows; i++)
    lines.push(`2024-${String((i % 12) + 1).padStart(2, '0')}-15,${(i + seed) % 50}.25,c${i % 300}`);
  return `${lines.join('\n')}\n`;
}

describe('FILE_STORE=s3 across processes', () => {
  it('a kill -9 mid-upload leaves an open multipart upload; the next start aborts it', async () => {
    const database = await createTestDatabase();
    databases.push(database);
    const port = await freePort();
    const env = { DATABASE_URL: database.url, PORT: String(port) };
    const first = await start('api', env);

    // ~20 MB of a 40 MB body: two 8 MiB parts are out, then the process dies under the upload.
    const socket = await startHalfUpload(port, 40_000_000, 1_250_000);
    await waitUntil(
      async () => {
        const { rows } = await database.sql.query<{ parts: number }>(
          'select count(*)::int as parts from s3_multipart_uploads where upload_id is not null',
        );
        return rows[0]!.parts > 0 && (await s3.openMultipartUploads()).length > 0;
      },
      { what: 'a multipart upload recorded and open' },
    );
    first.kill('SIGKILL');
    await first.exited;
    socket.destroy();
    expect(await s3.openMultipartUploads()).toHaveLength(1);

    // Same host, well within the lease: swept at start because its process is gone.
    const second = await start('api', env);
    expect(await s3.openMultipartUploads()).toEqual([]);
    expect(await s3.keys()).toEqual([]);
    const { rows } = await database.sql.query<{ n: number }>(
      'select (select count(*) from staged_uploads) + (select count(*) from s3_multipart_uploads) + (select count(*) from jobs) as n',
    );
    expect(Number(rows[0]!.n)).toBe(0);
    second.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });

  it('one API and two workers, sharing only PostgreSQL and the bucket, run uploads to exact results', async () => {
    const database = await createTestDatabase();
    databases.push(database);
    const port = await freePort();
    const env = { DATABASE_URL: database.url, PORT: String(port), WORKER_CONCURRENCY: '2' };
    await Promise.all([start('api', env), start('worker', env), start('worker', env)]);
    const baseUrl = `http://127.0.0.1:${port}`;
    const uploads = await Promise.all(
      Array.from({ length: 8 }, (_, i) => postCsv(baseUrl, salesCsv(3000, i))),
    );
    expect(uploads.map((u) => u.status)).toEqual(Array(8).fill(202));
    for (const [i, u] of uploads.entries()) {
      const status = await waitForFinal(baseUrl, u.body.jobId, {}, 60_000);
      expect(status.state).toBe('completed');
      const result = await trpcQuery(baseUrl, 'jobs.result', { jobId: u.body.jobId });
      let expected = 0;
      for (let r = 0; r < 3000; r++) expected += ((r + i) % 50) * 100 + 25;
      expect(result.body.result.data.currencies[0].totals.revenue).toBe(expected / 100);
    }
    // The bytes are objects, not rows.
    const chunks = await database.sql.query<{ n: number }>('select count(*)::int as n from job_file_chunks');
    expect(chunks.rows[0]!.n).toBe(0);
    expect((await s3.keys()).sort()).toEqual(uploads.map((u) => `${s3.prefix}${u.body.jobId}`).sort());
  });
});
