import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { postCsv } from '../support/http.ts';
import { logLines } from '../support/log-lines.ts';
import { startTestTally } from '../support/tally.ts';

// While the process drains (SIGTERM → close()), it keeps listening until in-flight requests
// end, and a new request gets 503 with Retry-After — not a refused connection — so a client
// retries on another instance: an upload (refused by the upload route's own admission too),
// and every other API route (refused by the drain plugin alone: a status read or a list would
// otherwise be answered). /readyz says 503 meanwhile, /metrics still answers; long polls
// answer at once.

describe('draining', () => {
  it('answers new uploads and API calls with 503 while an upload in flight finishes', async () => {
    const logs = logLines();
    const tally = await startTestTally({
      role: 'api',
      env: { SHUTDOWN_GRACE_MS: '10000', LOG_LEVEL: 'info' },
      logStream: logs.stream,
    });
    const port = Number(new URL(tally.url).port);
    // An upload in flight: its head is in, its body is not.
    const slow = net.connect(port, '127.0.0.1');
    slow.on('error', () => undefined);
    await new Promise<void>((resolve) =>
      slow.once('connect', () =>
        slow.write(
          `POST /api/jobs HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nx-request-id: drain-in-flight\r\n` +
            'content-type: multipart/form-data; boundary=b\r\n' +
            'content-length: 100000\r\n\r\n--b\r\n',
          () => resolve(),
        ),
      ),
    );
    // The server has parsed that head: Fastify logs "incoming request" once it has it.
    await logs.waitFor(/"clientRequestId":"drain-in-flight".*"incoming request"/);
    const job = await postCsv(tally.url, 'date,amount\n2024-01-01,1\n');
    const longPoll = fetch(
      `${tally.url}/trpc/jobs.status?input=${encodeURIComponent(JSON.stringify({ jobId: job.body.jobId, waitMs: 20_000, knownVersion: 1 }))}`,
    );

    const waiting = async () =>
      /^tally_long_polls (\d+)/m.exec(await (await fetch(`${tally.url}/metrics`)).text())?.[1];
    await expect.poll(waiting, { timeout: 5000 }).toBe('1');

    const closing = tally.close();
    try {
      // The waiting long poll answers now, not in 20 s.
      expect((await longPoll).status).toBe(200);
      const refused = await postCsv(tally.url, 'date,amount\n2024-01-01,1\n');
      expect(refused.status).toBe(503);
      expect(refused.body).toEqual({ error: { code: 'SERVICE_UNAVAILABLE', message: expect.any(String) } });
      // jobs.status (the plain GET route) and jobs.list (through tRPC) have no drain check of
      // their own: only the drain plugin's hook answers them 503.
      for (const path of [
        `/trpc/jobs.status?input=${encodeURIComponent(JSON.stringify({ jobId: job.body.jobId }))}`,
        '/trpc/jobs.list',
      ]) {
        const answer = await fetch(`${tally.url}${path}`);
        expect({ path, status: answer.status, retryAfter: answer.headers.get('retry-after') }).toEqual({
          path,
          status: 503,
          retryAfter: '1',
        });
        expect(await answer.json()).toEqual({
          error: { code: 'SERVICE_UNAVAILABLE', message: expect.any(String) },
        });
      }
      expect((await fetch(`${tally.url}/metrics`)).status).toBe(200);
      const ready = await fetch(`${tally.url}/readyz`, { headers: { connection: 'close' } });
      expect(ready.status).toBe(503);
    } finally {
      slow.destroy(); // the in-flight upload ends; the drain completes
      await closing;
      await tally.stop();
    }
  });
});
