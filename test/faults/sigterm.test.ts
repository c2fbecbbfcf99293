import net from 'node:net';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/wait-until.ts';
import { freePort, spawnTally, type ChildTally } from '../support/child-process.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { postCsv, waitForFinal } from '../support/http.ts';
import { generateCsv } from '../support/sources.ts';
import { startTestTally } from '../support/tally.ts';

const GRACE_MS = 1500;
/** The in-flight upload's X-Request-Id: the server logs it with the request's first line. */
const IN_FLIGHT_ID = 'sigterm-in-flight-upload';
let database: TestDatabase;
let sql: pg.Pool;
let child: ChildTally | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
  sql = database.sql;
});
afterAll(async () => {
  child?.kill();
  await child?.exited;
  await database?.drop();
});

/** Sends the first half of a multipart upload and returns a function that sends the rest. */
async function startSlowUpload(port: number, csv: string) {
  const boundary = 'sigtermboundary';
  const body = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="late.csv"\r\n\r\n${csv}\r\n--${boundary}--\r\n`,
  );
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  const response = new Promise<string>((resolve) => {
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    socket.on('close', () => resolve(text));
    socket.on('error', () => resolve(text));
  });
  socket.write(
    `POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Request-Id: ${IN_FLIGHT_ID}\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${body.length}\r\n\r\n`,
  );
  const half = Math.floor(body.length / 2);
  socket.write(body.subarray(0, half));
  return { finish: () => socket.write(body.subarray(half)), response };
}

describe('SIGTERM', () => {
  // Its own timeout: a real process stopped, its grace period waited out, another started: ~36 s under load 16.
  it('stops taking uploads, finishes in-flight ones, hands the running job back, exits 0', async () => {
    const port = await freePort();
    child = spawnTally('test/support/tally-process.ts', ['all', '--throttle', '4096:10'], {
      DATABASE_URL: database.url,
      PORT: String(port),
      WORKER_CONCURRENCY: '1',
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
    });
    await child.waitForLog(/tally started/);
    const url = `http://127.0.0.1:${port}`;

    const { csv, revenueCents } = generateCsv(40_000); // ~3 s through the throttled worker
    const running = await postCsv(url, csv);
    await waitUntil(
      async () => {
        const { rows } = await sql.query('select bytes_processed from jobs where id = $1', [
          running.body.jobId,
        ]);
        return Number(rows[0].bytes_processed) > 0;
      },
      { what: 'the running job to read its first bytes' },
    );
    const inFlight = await startSlowUpload(port, generateCsv(10).csv);
    // SIGTERM only once the server has read that request's head: Fastify logs "incoming
    // request" (with our X-Request-Id) when it has the head, and runs the route's admission
    // (the draining check included) in the same turn of its event loop, before any signal
    // handler can run. Sent earlier, the signal could win and the upload meet 503.
    await child.waitForLog(new RegExp(`"clientRequestId":"${IN_FLIGHT_ID}".*"incoming request"`));

    const signalledAt = Date.now();
    child.kill('SIGTERM');
    await child.waitForLog(/shutting down/);
    // New uploads are refused (503 while draining, or the listener is already closed).
    const late = await postCsv(url, csv).catch((error: Error) => ({
      status: 0,
      body: { error: error.message },
    }));
    expect([0, 503]).toContain(late.status);
    // The upload already in flight completes normally.
    inFlight.finish();
    expect(await inFlight.response).toMatch(/^HTTP\/1.1 202/);

    const exit = await child.exited;
    expect(exit.code).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(GRACE_MS + 10_000);

    // The running job did not finish within the grace period: it went back to the queue
    // (never left "running"), and a new worker completes it with the right figures.
    const { rows } = await sql.query('select state from jobs where id = $1', [running.body.jobId]);
    expect(rows[0].state).toBe('queued');
    const rescuer = await startTestTally({ database });
    try {
      const status = await waitForFinal(rescuer.url, running.body.jobId, {}, 60_000);
      expect(status.state).toBe('completed');
      const result = await fetch(
        `${rescuer.url}/trpc/jobs.result?input=${encodeURIComponent(JSON.stringify({ jobId: running.body.jobId }))}`,
      ).then((r) => r.json());
      expect(result.result.data.currencies[0].totals.revenue).toBe(revenueCents / 100);
    } finally {
      await rescuer.stop();
    }
  }, 90_000);
});
