import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestTally, type TestTally } from '../support/tally.ts';
import { createUpload, patchUpload } from './tus-http.ts';

// A page on another origin drives tus (CONTRACT §2.2): its preflights pass, and it can read
// Location, Upload-Offset and Tally-Job-Id (a browser hides every header not exposed).
const APP = 'http://127.0.0.1:4100';
const KEY = 'tus-cors-key-7c1e9a4b2d8f';
const auth = { authorization: `Bearer ${KEY}`, origin: APP };
let tally: TestTally;

beforeAll(async () => {
  tally = await startTestTally({ env: { CORS_ORIGINS: APP, API_TOKENS: `alice:${KEY}` } });
});
afterAll(() => tally?.stop());

it('allows tus methods and headers from a listed origin and exposes what clients read', async () => {
  for (const method of ['POST', 'PATCH', 'HEAD', 'DELETE']) {
    const res = await fetch(`${tally.url}/api/uploads/01900000-0000-7000-8000-000000000001`, {
      method: 'OPTIONS',
      headers: {
        origin: APP,
        'access-control-request-method': method,
        'access-control-request-headers':
          'authorization,tus-resumable,upload-offset,upload-length,upload-metadata,content-type',
      },
    });
    expect(res.status, method).toBe(204);
    expect(res.headers.get('access-control-allow-methods')).toContain(method);
  }
  const csv = 'date,amount\n2024-01-01,1.00\n';
  const created = await createUpload(tally.url, csv.length, { filename: 'a.csv' }, auth);
  const exposed = created.headers.get('access-control-expose-headers')?.split(/,\s*/) ?? [];
  expect(exposed).toEqual(
    expect.arrayContaining(['location', 'upload-offset', 'tally-job-id', 'tus-resumable']),
  );
  const done = await patchUpload(created.url, 0, csv, auth);
  expect(done.status).toBe(204);
  expect(done.headers.get('access-control-allow-origin')).toBe(APP);
  expect(done.headers.get('tally-job-id')).toMatch(/^[0-9a-f-]{36}$/);
});
