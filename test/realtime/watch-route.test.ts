import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postCsv } from '../support/http.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';
import { watchUrl } from './sse.ts';

// GET /trpc/jobs.watch is answered by Tally's own route (src/api/trpc/watch-route.ts), not
// by tRPC's SSE pipeline, to hold a stream for a fraction of the memory. Its clients must
// not be able to tell: every answer is compared, byte for byte, with what tRPC itself
// sends for the same request (an extra query parameter makes the route hand it to tRPC).

const TOKEN = 'watch-route-token-0123456789';
let tally: TestTally;
let sql: pg.Pool;

beforeAll(async () => {
  tally = await startTestTally({ role: 'api', env: { API_TOKENS: `ann:${TOKEN}` } });
  sql = tally.database.sql;
});
afterAll(async () => {
  await tally?.stop();
});

const auth = { authorization: `Bearer ${TOKEN}` };

/** The whole answer of a stream that ends by itself: status, the SSE headers, the body. */
async function whole(url: string, headers: Record<string, string> = auth) {
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers } });
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    cache: res.headers.get('cache-control'),
    retryAfter: res.headers.get('retry-after'),
    body: await res.text(),
  };
}
const viaTrpc = (url: string) => `${url}&via=trpc`;

async function completedJob(): Promise<{ jobId: string; version: number }> {
  const upload = await postCsv(tally.url, 'date,amount\n2024-01-01,1\n', { headers: auth });
  expect(upload.status).toBe(202);
  const jobId = upload.body.jobId as string;
  const { rows } = await sql.query<{ version: number }>(
    "update jobs set state = 'completed', finished_at = now() where id = $1 returning version",
    [jobId],
  );
  return { jobId, version: rows[0]!.version };
}

describe('jobs.watch route against tRPC’s own answer', () => {
  it('a final job: the same bytes (connected, the status with its version as id, return)', async () => {
    const { jobId, version } = await completedJob();
    const url = watchUrl(tally.url, { jobId });
    const [ours, trpcs] = [await whole(url), await whole(viaTrpc(url))];
    expect(ours).toEqual(trpcs);
    expect(ours.status).toBe(200);
    expect(ours.type).toMatch(/^text\/event-stream/);
    expect(ours.body).toContain(`\nid: ${version}\n`);
    expect(ours.body).toMatch(/event: return\n/);
  });

  it('resumed after the last version (parameter or header): the same bytes, nothing but return', async () => {
    const { jobId, version } = await completedJob();
    const url = `${watchUrl(tally.url, { jobId })}&lastEventId=${version}`;
    const ours = await whole(url);
    expect(ours).toEqual(await whole(viaTrpc(url)));
    expect(ours.body).not.toContain('\nid:');
    const byHeader = { ...auth, 'last-event-id': String(version) };
    expect(await whole(watchUrl(tally.url, { jobId }), byHeader)).toEqual(ours);
  });

  it('an unknown job, a bad id and a missing token: the same errors', async () => {
    const missing = watchUrl(tally.url, { jobId: crypto.randomUUID() });
    const notFound = await whole(missing);
    expect(notFound).toEqual(await whole(viaTrpc(missing)));
    expect(notFound.body).toMatch(/event: serialized-error\ndata: .*"code":"NOT_FOUND"/);

    const bad = watchUrl(tally.url, { jobId: 'not-a-uuid' });
    const badInput = await whole(bad);
    expect(badInput).toEqual(await whole(viaTrpc(bad)));
    expect(badInput.body).toMatch(/"code":"BAD_REQUEST"/);

    const unauthorized = await whole(missing, {});
    expect(unauthorized).toEqual(await whole(viaTrpc(missing), {}));
    expect(unauthorized.body).toMatch(/"code":"UNAUTHORIZED"/);
  });
});
