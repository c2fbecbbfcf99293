import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postCsv } from '../support/http.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';

const APP = 'http://127.0.0.1:4100';
const OTHER = 'http://127.0.0.1:4200';
const API_KEY = 'cors-test-key-5d2c8e1f9a7b';

let tally: TestTally;
let plain: TestTally;
beforeAll(async () => {
  [tally, plain] = await Promise.all([
    startTestTally({
      env: { CORS_ORIGINS: `${APP},https://app.example.com`, API_TOKENS: `alice:${API_KEY}` },
    }),
    startTestTally(),
  ]);
});
afterAll(() => Promise.all([tally?.stop(), plain?.stop()]));

const preflight = (
  base: string,
  path: string,
  origin: string,
  method = 'POST',
  headers = 'authorization,idempotency-key',
) =>
  fetch(`${base}${path}`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
  });

describe('CORS (CORS_ORIGINS)', () => {
  it.each([
    ['/api/jobs', 'POST'],
    ['/trpc/jobs.status', 'GET'],
    ['/trpc/jobs.cancel', 'POST'],
  ])('answers the preflight for %s from a listed origin', async (path, method) => {
    const res = await preflight(tally.url, path, APP, method, 'authorization,content-type,idempotency-key');
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('access-control-allow-headers')?.split(/,\s*/)).toEqual([
      'authorization',
      'content-type',
      'idempotency-key',
      // tus (resumable uploads, /api/uploads)
      'tus-resumable',
      'upload-length',
      'upload-metadata',
      'upload-offset',
    ]);
    expect(res.headers.get('access-control-allow-methods')).toContain(method);
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    expect(res.headers.get('vary')).toMatch(/origin/i);
  });

  it('marks actual answers (upload and tRPC, refusals too) for the listed origin only', async () => {
    const upload = await postCsv(tally.url, 'date,amount\n2024-01-01,1\n', {
      headers: { origin: APP, authorization: `Bearer ${API_KEY}` },
    });
    expect(upload.status).toBe(202);
    const status = await fetch(`${tally.url}/trpc/jobs.list?input=%7B%7D`, {
      headers: { origin: APP, authorization: `Bearer ${API_KEY}` },
    });
    expect(status.headers.get('access-control-allow-origin')).toBe(APP);
    // A 401 must be readable by the page too, or it sees only "network error".
    const refused = await fetch(`${tally.url}/trpc/jobs.list?input=%7B%7D`, { headers: { origin: APP } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(APP);
  });

  it('gives an origin not listed nothing: no CORS headers, its preflight is a 404', async () => {
    const res = await preflight(tally.url, '/api/jobs', OTHER);
    expect(res.status).toBe(404);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const get = await fetch(`${tally.url}/trpc/jobs.list?input=%7B%7D`, {
      headers: { origin: OTHER, authorization: `Bearer ${API_KEY}` },
    });
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
    // Near misses are other origins.
    for (const near of ['http://127.0.0.1:41000', 'https://app.example.com.evil.test', 'null'])
      expect(
        (await preflight(tally.url, '/trpc/jobs.status', near, 'GET')).headers.get(
          'access-control-allow-origin',
        ),
      ).toBeNull();
  });

  it('without CORS_ORIGINS: same origin only, no CORS headers for anyone', async () => {
    const res = await preflight(plain.url, '/api/jobs', APP);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    // Auth off: another origin is refused outright (test/security/local-mode.test.ts).
    const get = await fetch(`${plain.url}/trpc/jobs.list?input=%7B%7D`, { headers: { origin: APP } });
    expect(get.status).toBe(403);
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
    const own = await fetch(`${plain.url}/trpc/jobs.list?input=%7B%7D`, { headers: { origin: plain.url } });
    expect(own.status).toBe(200);
    expect(own.headers.get('access-control-allow-origin')).toBeNull();
  });
});
