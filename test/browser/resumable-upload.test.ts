import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { webUiPlugin } from '../../src/api/web-ui.ts';
import { trpcQuery, waitForFinal } from '../support/http.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';
import { waitUntil } from '../support/wait-until.ts';
import { startCuttingProxy, type CuttingProxy } from '../resumable/cutting-proxy.ts';
import { writeRevenueFixture, type Fixture } from './revenue-fixture.ts';
import { buildWebIfStale } from './web-build.ts';
import { launchChromium, requireChromium } from '../support/chromium.ts';

/**
 * The page's own upload over a connection that drops (docs/reference.md, "`/api/uploads` —
 * resumable"): Chromium loads the page and talks to a real Tally through a proxy that
 * resets both sockets once 6 MiB of requests went through it, in the middle of the first
 * 16 MiB PATCH. The page must go on from the server's offset (not from 0, not from a slice
 * boundary) and the job's figures must be the file's exact totals.
 */
const repo = path.resolve(import.meta.dirname, '..', '..');
const MiB = 1024 * 1024;
const PATCH_BYTES = 16 * MiB; // src/client/resumable-upload.ts
// ~21 MB: over the client's 8 MiB resumable threshold, two PATCHes.
const ROWS = 400_000;
// Auth on: the page reaches Tally through the proxy's port, which auth-off mode refuses.
const KEY = 'browser-resume-key-5d2a8e1f7c3b';
const auth = { authorization: `Bearer ${KEY}` };

let tmp: string;
let fixture: Fixture;
let tally: TestTally;
let proxy: CuttingProxy;
let browser: Browser;
let sql: pg.Pool;

beforeAll(async () => {
  requireChromium();
  buildWebIfStale(repo);
  tmp = await mkdtemp(path.join(os.tmpdir(), 'tally-browser-resume-'));
  fixture = await writeRevenueFixture(path.join(tmp, 'big-export.csv'), ROWS);
  tally = await startTestTally({ env: { API_TOKENS: `alice:${KEY}` }, plugins: [webUiPlugin] });
  sql = new pg.Pool({ connectionString: tally.database.url, max: 1 });
  // The cut waits until the PATCH holds its upload's lease (test/resumable/real-clients.test.ts
  // says why): its handler then keeps what arrived, and the resume starts past 0.
  proxy = await startCuttingProxy(tally.url, 6 * MiB, 1, {
    beforeCut: () =>
      waitUntil(
        async () =>
          (await sql.query('select 1 from resumable_uploads where locked_until > now()')).rowCount === 1,
        { what: 'a PATCH holding its upload’s lease', timeoutMs: 20_000 },
      ).then(() => undefined),
  });
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await proxy?.stop();
  await sql?.end();
  await tally?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 60_000);

it('the page resumes an upload cut off mid-PATCH and the job has the file’s exact figures', async () => {
  expect(fixture.bytes).toBeGreaterThan(PATCH_BYTES);
  const page = await browser.newPage();
  // The page keeps its token in localStorage (src/web/src/tally.ts).
  await page.addInitScript((key) => localStorage.setItem('tally.apiToken', key), KEY);
  const requests: string[] = [];
  const patchOffsets: number[] = [];
  page.on('request', (r) => {
    if (!r.url().includes('/api/uploads')) return;
    const offset = r.headers()['upload-offset'];
    if (r.method() === 'PATCH') patchOffsets.push(Number(offset));
    requests.push(`${r.method()} offset ${offset ?? '-'}`);
  });
  page.on('response', (r) => {
    if (r.url().includes('/api/uploads'))
      requests.push(`  → ${r.status()} offset ${r.headers()['upload-offset'] ?? '-'}`);
  });
  page.on('requestfailed', (r) => {
    if (r.url().includes('/api/uploads'))
      requests.push(`  → ${r.method()} failed: ${r.failure()?.errorText}`);
  });
  onTestFailed(() =>
    // eslint-disable-next-line no-console -- where a failed run stood, in its output
    console.error(
      `page's upload requests (cuts ${proxy.cuts}):\n${requests.join('\n')}\nproxy:\n${proxy.trace.join('\n')}`,
    ),
  );

  await page.goto(proxy.url);
  await page.getByTestId('file-input').setInputFiles(fixture.path);
  await page.getByRole('button', { name: 'Analyse' }).click();
  // The job's page, or the form's error (a resume that cannot go on gives up in ~40 s).
  const alert = page.getByRole('alert');
  const outcome = await Promise.race([
    page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/, { timeout: 90_000 }).then(() => 'the job'),
    alert.waitFor({ timeout: 90_000 }).then(async () => `an error: ${await alert.textContent()}`),
  ]);
  expect(outcome).toBe('the job');
  const jobId = page.url().split('/').pop()!;

  expect(proxy.cuts).toBe(1);
  expect(patchOffsets[0]).toBe(0);
  // Resumed where the server had stored up to: an offset inside the first slice, not 0 and
  // not the slice's end (a restart, or a client that only knows its own slices, would not).
  expect(patchOffsets.some((o) => o > 0 && o < PATCH_BYTES)).toBe(true);

  const status = await waitForFinal(tally.url, jobId, auth, 60_000);
  expect(status).toMatchObject({ state: 'completed', bytes: fixture.bytes });
  const { body } = await trpcQuery(tally.url, 'jobs.result', { jobId }, auth);
  const result = body.result.data as {
    rows: { total: number; rejected: number };
    currencies: { currency: string | null; totals: { revenue: number } }[];
  };
  // The file's own totals, known to the cent from its generator.
  expect(result.rows).toMatchObject({ total: ROWS, rejected: fixture.badLines.length });
  const revenue = Object.fromEntries(result.currencies.map((c) => [c.currency, c.totals.revenue]));
  expect(revenue).toEqual(
    Object.fromEntries([...fixture.centsByCurrency].map(([code, cents]) => [code, Number(cents) / 100])),
  );
  // And the page shows the larger currency's (USD) exact net revenue.
  const usdCents = fixture.centsByCurrency.get('USD')!;
  await expect
    .poll(() => page.getByTestId('net-revenue').getAttribute('data-value'), { timeout: 20_000 })
    .toBe(String(Number(usdCents) / 100));
  await page.close();
}, 150_000);
