import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postCsv } from '../support/http.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';
import { waitUntil } from '../support/wait-until.ts';

// `GET /trpc/jobs.status?input=…` is answered by the status route, not tRPC's adapter
// (src/api/trpc/status-route.ts); a batch (`?batch=1`) still goes through tRPC. Both must
// give a client exactly the same answers: data, errors, status codes and headers.

const ALICE = 'alice-token-0123456789abcdef';
const BOB = 'bob-token-0123456789abcdefgh';
const auth = (token: string) => ({ authorization: `Bearer ${token}` });

let tally: TestTally;
let aliceJob: string;

beforeAll(async () => {
  tally = await startTestTally({ role: 'api', env: { API_TOKENS: `alice:${ALICE},bob:${BOB}` } });
  const upload = await postCsv(tally.url, 'date,amount\n2024-01-01,1\n', { headers: auth(ALICE) });
  expect(upload.status).toBe(202);
  aliceJob = upload.body.jobId as string;
});
afterAll(async () => {
  await tally?.stop();
});

interface Answer {
  status: number;
  body: unknown;
  contentType: string | null;
  retryAfter: string | null;
}

async function answer(url: string, headers: Record<string, string>): Promise<Answer> {
  const res = await fetch(url, { headers });
  return {
    status: res.status,
    body: await res.json(),
    contentType: res.headers.get('content-type'),
    retryAfter: res.headers.get('retry-after'),
  };
}

async function metric(baseUrl: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const value = new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1];
  return value === undefined ? undefined : Number(value);
}

/** The same input through the status route and through tRPC (a batch of one). */
async function bothWays(input: unknown, headers: Record<string, string>) {
  const json = encodeURIComponent(JSON.stringify(input));
  const plain = await answer(`${tally.url}/trpc/jobs.status?input=${json}`, headers);
  const batchJson = encodeURIComponent(JSON.stringify({ 0: input }));
  const batch = await answer(`${tally.url}/trpc/jobs.status?batch=1&input=${batchJson}`, headers);
  expect(Array.isArray(batch.body)).toBe(true);
  return { plain, viaTrpc: { ...batch, body: (batch.body as unknown[])[0] } };
}

describe('the status route answers as tRPC does', () => {
  it('gives the same status', async () => {
    const { plain, viaTrpc } = await bothWays({ jobId: aliceJob }, auth(ALICE));
    expect(plain.status).toBe(200);
    expect(plain.body).toEqual(viaTrpc.body);
    expect(plain.contentType).toBe(viaTrpc.contentType);
    expect((plain.body as { result: { data: { id: string } } }).result.data.id).toBe(aliceJob);
  });

  it.each([
    ['no token', { jobId: '00000000-0000-4000-8000-000000000000' }, {}, 401],
    ['another owner’s job', { jobId: 'JOB' }, auth(BOB), 404],
    ['a jobId that is no UUID', { jobId: 'nope' }, auth(ALICE), 400],
    ['waitMs past the maximum', { jobId: 'JOB', waitMs: 999_999, knownVersion: 0 }, auth(ALICE), 400],
    ['an input that is no object', 42, auth(ALICE), 400],
  ])('gives the same error for %s', async (_what, input, headers, status) => {
    const withJob =
      typeof input === 'object' && input.jobId === 'JOB' ? { ...input, jobId: aliceJob } : input;
    const { plain, viaTrpc } = await bothWays(withJob, headers);
    expect(plain.status).toBe(status);
    expect(viaTrpc.status).toBe(status);
    expect(plain.body).toEqual(viaTrpc.body);
    expect(plain.contentType).toBe(viaTrpc.contentType);
    expect((plain.body as { error: { data: { path: string } } }).error.data.path).toBe('jobs.status');
  });

  it('gives the same refusal past the long-poll bound, with Retry-After', async () => {
    const bounded = await startTestTally({
      role: 'api',
      database: tally.database,
      env: { API_TOKENS: `alice:${ALICE}`, LONG_POLLS_PER_OWNER: '1' },
    });
    const holder = new AbortController();
    try {
      const input = { jobId: aliceJob, waitMs: 20_000, knownVersion: 0 };
      const url = (i: unknown) =>
        `${bounded.url}/trpc/jobs.status?input=${encodeURIComponent(JSON.stringify(i))}`;
      // Version 0 never matches a real job, so first learn the current one, then hold the slot.
      const current = (await answer(url({ jobId: aliceJob }), auth(ALICE))).body as {
        result: { data: { version: number } };
      };
      const held = { ...input, knownVersion: current.result.data.version };
      const holding = fetch(url(held), { headers: auth(ALICE), signal: holder.signal }).catch(
        () => undefined,
      );
      await waitUntil(async () => (await metric(bounded.url, 'tally_long_polls')) === 1, {
        what: 'the first long poll to wait',
        timeoutMs: 10_000,
      });
      const plain = await answer(url(held), auth(ALICE));
      const batch = await answer(
        `${bounded.url}/trpc/jobs.status?batch=1&input=${encodeURIComponent(JSON.stringify({ 0: held }))}`,
        auth(ALICE),
      );
      expect(plain.status).toBe(429);
      expect(batch.status).toBe(429);
      expect(plain.body).toEqual((batch.body as unknown[])[0]);
      expect(plain.retryAfter).toBe('1');
      expect(batch.retryAfter).toBe('1');
      holder.abort();
      await holding;
    } finally {
      holder.abort();
      await bounded.stop();
    }
  });

  it('leaves every other form to tRPC', async () => {
    for (const query of ['', '?input=%7Bnot%20json', `?input=${encodeURIComponent('{}')}&extra=1`]) {
      const res = await answer(`${tally.url}/trpc/jobs.status${query}`, auth(ALICE));
      expect(res.status, query).toBe(400);
      expect((res.body as { error: { data: { code: string } } }).error.data.code, query).toBe('BAD_REQUEST');
    }
  });
});
