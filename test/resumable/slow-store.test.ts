import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postCsv, trpcQuery, waitForFinal } from '../support/http.ts';
import { startTestS3, type TestS3 } from '../support/s3-server.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';
import { createUpload, patchUpload } from './tus-http.ts';

// The upload idle timeout measures the client's silence, not the time the API spends
// waiting on its own store: here every CreateMultipartUpload takes HOLD_MS, four idle
// timeouts, while the client sends as fast as the API reads. A PATCH that spans a part
// boundary waits on the store mid-body and must still complete.
const IDLE_TIMEOUT_MS = 250;
const HOLD_MS = 4 * IDLE_TIMEOUT_MS;

/** An S3 endpoint in front of `target` that answers CreateMultipartUpload `holdMs` late. */
async function startSlowS3(target: string, holdMs: number) {
  const upstream = new URL(target);
  let held = 0;
  const server = http.createServer((req, res) => {
    const slow = req.method === 'POST' && /[?&]uploads(=|&|$)/.test(req.url ?? '');
    const forward = () => {
      const out = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      out.on('error', () => res.destroy());
      req.pipe(out);
    };
    if (!slow) return forward();
    held += 1;
    setTimeout(forward, holdMs); // the slowness under test, not a wait for an event
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get held() {
      return held;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('a slow store is not a stalled client', () => {
  let s3: TestS3;
  let slow: Awaited<ReturnType<typeof startSlowS3>>;
  let tally: TestTally;

  beforeAll(async () => {
    s3 = await startTestS3();
    slow = await startSlowS3(s3.endpoint, HOLD_MS);
    tally = await startTestTally({
      env: { ...s3.env, S3_ENDPOINT: slow.url, UPLOAD_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS) },
    });
  });
  afterAll(async () => {
    await tally?.stop();
    await slow?.stop();
    await s3?.stop();
  });

  // Over one 8 MiB part, so the first part's multipart upload is created mid-body.
  const rows = 450_000;
  const lines = ['date,amount,customer'];
  for (let i = 0; i < rows; i++)
    lines.push(`2024-03-${String((i % 28) + 1).padStart(2, '0')},2.50,c${i % 97}`);
  const file = Buffer.from(`${lines.join('\n')}\n`);

  async function expectExactJob(jobId: string): Promise<void> {
    const status = await waitForFinal(tally.url, jobId, {}, 60_000);
    expect(status).toMatchObject({ state: 'completed', bytes: file.length });
    const result = await trpcQuery(tally.url, 'jobs.result', { jobId });
    expect(result.body.result.data.rows).toMatchObject({ total: rows, valid: rows });
    expect(result.body.result.data.currencies[0].totals.revenue).toBe(2.5 * rows);
  }

  it('a tus PATCH that waits on the store mid-body completes into an exact job', async () => {
    expect(file.length).toBeGreaterThan(8 * 1024 * 1024);
    const heldBefore = slow.held;
    const created = await createUpload(tally.url, file.length);
    expect(created.status).toBe(201);
    const done = await patchUpload(created.url, 0, new Uint8Array(file));
    expect(done.body).toBeUndefined();
    expect(done.status).toBe(204);
    expect(slow.held).toBe(heldBefore + 1);
    const jobId = done.headers.get('tally-job-id')!;
    expect(jobId).toBeTruthy();
    await expectExactJob(jobId);
  });

  it('a multipart POST /api/jobs that waits on the store mid-body is accepted (202), exact job', async () => {
    const heldBefore = slow.held;
    const res = await postCsv(tally.url, new Uint8Array(file), { filename: 'sales.csv' });
    expect(res.body.error).toBeUndefined();
    expect(res.status).toBe(202);
    expect(slow.held).toBe(heldBefore + 1);
    await expectExactJob(res.body.jobId);
  });
});
