import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trpcQuery } from '../support/http.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';

// Refusals made by Node and Fastify before any route runs come out in the
// contract's shape, and tRPC input errors are a sentence for a person, not a zod dump.

let tally: TestTally;
let port: number;

beforeAll(async () => {
  tally = await startTestTally({ role: 'api' });
  port = Number(new URL(tally.url).port);
});
afterAll(async () => {
  await tally?.stop();
});

/** Sends raw bytes on a new socket; resolves with the status and the parsed JSON body. */
function raw(request: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.on('error', reject);
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.once('connect', () => socket.write(request));
    socket.once('close', () => {
      const at = text.indexOf('\r\n\r\n');
      resolve({ status: Number(text.slice(9, 12)), body: JSON.parse(text.slice(at + 4)) });
    });
  });
}

const contractShape = (code: string) => ({ error: { code, message: expect.any(String) } });

describe('refusals before routing', () => {
  it('431 for a request head over 16 KiB', async () => {
    const res = await raw(`GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(res.status).toBe(431);
    expect(res.body).toEqual(contractShape('BAD_REQUEST'));
  });

  it('400 for bytes that are not HTTP', async () => {
    const res = await raw('HELLO\r\n\r\n');
    expect(res.status).toBe(400);
    expect(res.body).toEqual(contractShape('BAD_REQUEST'));
  });

  it('414 for a path parameter over maxParamLength', async () => {
    const res = await fetch(`${tally.url}/trpc/${'jobs.status,'.repeat(200)}`);
    expect(res.status).toBe(414);
    expect(await res.json()).toEqual(contractShape('BAD_REQUEST'));
  });

  it('404 for an unknown route', async () => {
    const res = await fetch(`${tally.url}/nothing-here`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual(contractShape('NOT_FOUND'));
  });
});

describe('tRPC errors', () => {
  it('says what is wrong with the input in a sentence', async () => {
    const res = await trpcQuery(tally.url, 'jobs.status', { jobId: 'nope', waitMs: 99_999 });
    expect(res.status).toBe(400);
    expect(res.body.error.data).toMatchObject({ code: 'BAD_REQUEST', httpStatus: 400 });
    const message: string = res.body.error.message;
    expect(message).toBe(
      'The input is not valid: jobId: jobId must be a UUID; waitMs: must be at most 25000.',
    );
    expect(message).not.toContain('[');
  });

  it('keeps the contract codes for a missing job and an unknown procedure', async () => {
    const missing = await trpcQuery(tally.url, 'jobs.status', {
      jobId: '00000000-0000-4000-8000-000000000000',
    });
    expect(missing.status).toBe(404);
    expect(missing.body.error.data).toMatchObject({ code: 'NOT_FOUND', httpStatus: 404 });
    const unknown = await trpcQuery(tally.url, 'jobs.nothing', {});
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.data).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('answers a queued job’s result with PRECONDITION_FAILED (412)', async () => {
    const form = new FormData();
    form.append('file', new Blob(['date,amount\n2024-01-01,1\n']), 'a.csv');
    const { jobId } = (await (
      await fetch(`${tally.url}/api/jobs`, { method: 'POST', body: form })
    ).json()) as {
      jobId: string;
    };
    const res = await trpcQuery(tally.url, 'jobs.result', { jobId });
    expect(res.status).toBe(412);
    expect(res.body.error).toMatchObject({
      message: 'The job is queued; its result exists once it is completed.',
      data: { code: 'PRECONDITION_FAILED', httpStatus: 412 },
    });
  });
});

describe('request ids', () => {
  it('never takes the client’s X-Request-Id as its own', async () => {
    const lines: string[] = [];
    const { Writable } = await import('node:stream');
    const logged = await startTestTally({
      role: 'api',
      database: tally.database,
      env: { LOG_LEVEL: 'info' },
      logStream: new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(...chunk.toString().split('\n').filter(Boolean));
          done();
        },
      }),
    });
    try {
      await fetch(`${logged.url}/nothing`, { headers: { 'x-request-id': 'client-chosen-1' } });
      const rawLine = lines.find((l) => l.includes('"/nothing"')) ?? '';
      const line = rawLine ? (JSON.parse(rawLine) as Record<string, unknown>) : undefined;
      expect(line).toBeDefined();
      expect(line?.reqId).not.toBe('client-chosen-1');
      expect(line?.clientRequestId).toBe('client-chosen-1');
    } finally {
      await logged.stop();
    }
  });
});
