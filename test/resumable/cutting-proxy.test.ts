import pg from 'pg';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium, requireChromium } from '../support/chromium.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';
import { startCuttingProxy } from './cutting-proxy.ts';

/**
 * The proxy the resume tests stand on must not hang a request by itself. A PATCH the server
 * refuses (423: another request holds the lease) is answered without its body being read;
 * the proxy, paused on the server's full window, once waited for a drain that never came
 * while Chromium waited to finish sending: 4 hangs in 15 tries here, and one 90 s CI failure
 * of test/browser/resumable-upload.test.ts. Every try must end: with the 423, or with a
 * reset (a real closed socket resets the bytes that still arrive).
 */
const KEY = 'cutting-proxy-key-8c1e5a3f9b2d';
const MiB = 1024 * 1024;
let tally: TestTally;
let browser: Browser;
let sql: pg.Pool;

beforeAll(async () => {
  requireChromium();
  tally = await startTestTally({ env: { API_TOKENS: `alice:${KEY}` } });
  sql = new pg.Pool({ connectionString: tally.database.url, max: 1 });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await sql?.end();
  await tally?.stop();
});

it('ends every refused 16 MiB PATCH from Chromium: an answer or a reset, never a hang', async () => {
  const proxy = await startCuttingProxy(tally.url, Number.MAX_SAFE_INTEGER, 0);
  const page = await browser.newPage();
  await page.goto(`${proxy.url}/healthz`);
  const outcomes: string[] = [];
  for (let i = 0; i < 15; i++) {
    const created = await fetch(`${tally.url}/api/uploads`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${KEY}`,
        'tus-resumable': '1.0.0',
        'upload-length': String(20 * MiB),
        'upload-metadata': `filename ${btoa('a.csv')}`,
      },
    });
    expect(created.status).toBe(201);
    const uploadPath = new URL(created.headers.get('location')!, tally.url).pathname;
    // Another request holds the lease: the PATCH below is refused before its body is read.
    await sql.query(
      `update resumable_uploads set locked_until = now() + interval '1 hour', lock_token = gen_random_uuid()`,
    );
    outcomes.push(
      await page.evaluate(
        async ({ url, key, bytes }) => {
          const patch = fetch(url, {
            method: 'PATCH',
            body: new Blob([new Uint8Array(bytes)]),
            headers: {
              authorization: `Bearer ${key}`,
              'tus-resumable': '1.0.0',
              'upload-offset': '0',
              'content-type': 'application/offset+octet-stream',
            },
          }).then(
            (r) => `HTTP ${r.status}`,
            () => 'reset',
          );
          // 15 s: a refused PATCH ends in milliseconds here; a hung one never does.
          const hang = new Promise<string>((resolve) => setTimeout(() => resolve('hang'), 15_000));
          return Promise.race([patch, hang]);
        },
        { url: `${proxy.url}${uploadPath}`, key: KEY, bytes: 16 * MiB },
      ),
    );
  }
  await page.close();
  await proxy.stop();
  expect(outcomes.filter((o) => o !== 'HTTP 423' && o !== 'reset')).toEqual([]);
}, 300_000);
