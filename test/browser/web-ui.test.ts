import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/child-process.ts';
import { WRONG_DATE_COLUMN } from '../support/csv-samples.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { formatCents, writeRevenueFixture, type Fixture } from './revenue-fixture.ts';
import { buildWebIfStale } from './web-build.ts';
import { launchChromium, requireChromium } from '../support/chromium.ts';

/**
 * The web UI end to end: Vite build → `src/main.ts` as a child process (what `npm start`
 * runs) on a fresh database → Chromium drives the page over real HTTP.
 */
const repo = path.resolve(import.meta.dirname, '..', '..');
// Screenshots go to test-results/ on every run (CI keeps them as artefacts); with
// UPDATE_SCREENSHOTS=1 they refresh the README's copies in docs/screenshots instead.
const screenshots =
  process.env.UPDATE_SCREENSHOTS === '1'
    ? path.join(repo, 'docs', 'screenshots')
    : path.join(repo, 'test-results', 'screenshots');
// ~4 s of processing in the server: long enough to watch the bar move and reload mid-job.
const ROWS = 1_000_000;

let tmp: string;
let database: TestDatabase;
let server: ChildProcess;
let serverLog = '';
let base: string;
let browser: Browser;
let fixture: Fixture;
/** Every Content-Security-Policy violation any page of this file reported (must stay empty). */
const cspViolations: string[] = [];

beforeAll(async () => {
  requireChromium();
  buildWebIfStale(repo);
  tmp = await mkdtemp(path.join(os.tmpdir(), 'tally-browser-'));
  const [db, port, fx] = await Promise.all([
    createTestDatabase(),
    freePort(),
    writeRevenueFixture(path.join(tmp, 'revenue-export.csv'), ROWS),
  ]);
  database = db;
  fixture = fx;
  base = `http://127.0.0.1:${port}`;
  server = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: repo,
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      DATA_DIR: path.join(tmp, 'data'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout?.on('data', (d: Buffer) => (serverLog += d.toString()));
  server.stderr?.on('data', (d: Buffer) => (serverLog += d.toString()));
  await waitForHealthy(`${base}/healthz`, 60_000);
  browser = await launchChromium(['--disable-quic']);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    if (server.exitCode === null) server.kill('SIGKILL');
  }
  await database?.drop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 60_000);

async function newPage(width = 1280, height = 900, violations = cspViolations): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height } });
  page.on('pageerror', (error) => {
    throw new Error(`page error: ${error.message}\nserver log:\n${serverLog}`);
  });
  // The page runs under the served CSP: collect what it refuses, from the event (the
  // init script is injected by the debugger, outside the page's policy) and the console.
  await page.exposeFunction('__reportCspViolation', (text: string) => violations.push(text));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      const report = (window as unknown as { __reportCspViolation: (t: string) => void })
        .__reportCspViolation;
      void report(
        `${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`,
      );
    });
  });
  page.on('console', (message) => {
    if (message.type() === 'error' && /content security policy/i.test(message.text()))
      violations.push(message.text());
  });
  return page;
}

describe('web UI against `src/main.ts` in a child process', () => {
  let jobUrl: string;

  it('uploads a CSV, shows the processing bar moving, resumes after a reload, and shows exact totals', async () => {
    const page = await newPage();
    // The job view's status is pushed over SSE: every status request is recorded.
    const statusRequests: { url: string; type: string }[] = [];
    page.on('response', (r) => {
      if (/\/trpc\/jobs\.(watch|status)/.test(r.url()))
        statusRequests.push({ url: r.url(), type: r.headers()['content-type'] ?? '' });
    });
    await page.goto(base);
    await eventually(() => page.getByRole('heading', { name: 'Analyse a revenue export' }).count()).toBe(1);

    // Keyboard: the file input inside the drop zone is reachable with Tab.
    let reached = false;
    for (let i = 0; i < 10 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(
        () => document.activeElement?.getAttribute('data-testid') === 'file-input',
      );
    }
    expect(reached).toBe(true);

    await page.getByTestId('file-input').setInputFiles(fixture.path);
    await eventually(() => page.getByTestId('dropzone').textContent()).toContain('revenue-export.csv');
    // The mapping selects offer the file's own header names, read in the browser.
    await page.getByText('Column mapping and format options').click();
    const amountOptions = () =>
      page.getByLabel('Amount', { exact: true }).locator('option').allTextContents();
    await eventually(amountOptions).toEqual([
      'Detect',
      'order_date',
      'customer_email',
      'product',
      'billing_country',
      'currency',
      'amount',
    ]);
    mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: path.join(screenshots, 'upload.png'), fullPage: true });
    await page.getByRole('button', { name: 'Analyse' }).click();

    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/, { timeout: 30_000 });
    jobUrl = page.url();

    // Sample the processing bar until it shows a running value, then reload mid-job.
    const seen = new Set<number>();
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const now = await progressValue(page);
      if (now !== undefined) seen.add(now);
      if (now !== undefined && now > 0 && now < 100 && seen.size >= 2) break;
      await page.waitForTimeout(50);
    }
    const running = [...seen].filter((v) => v > 0 && v < 100);
    expect(running.length, `progress values seen: ${[...seen].join(', ')}`).toBeGreaterThan(0);
    expect(await page.getByTestId('job').getAttribute('data-state')).toBe('running');
    await page.screenshot({ path: path.join(screenshots, 'processing.png') });
    // The running bar moved on events of one jobs.watch stream, not on polls.
    expect(statusRequests.length).toBeGreaterThan(0);
    for (const request of statusRequests) {
      expect(request.url).toMatch(/\/trpc\/jobs\.watch\?input=/);
      expect(request.type).toMatch(/^text\/event-stream/);
    }

    await page.reload();
    // The same job, watched again from its URL: still running, and the bar keeps moving.
    await eventually(() => page.getByTestId('job').getAttribute('data-state')).toMatch(/running|completed/);
    const afterReload = new Set<number>();
    while ((await page.getByTestId('analysis').count()) === 0 && Date.now() < deadline + 30_000) {
      const now = await progressValue(page);
      if (now !== undefined) afterReload.add(now);
      await page.waitForTimeout(50);
    }
    expect(
      [...afterReload].some((v) => v > 0 && v < 100),
      'the reloaded page showed the job still running',
    ).toBe(true);

    // The headline equals the exact sum of the generated cents (USD is the larger currency).
    const usdCents = fixture.centsByCurrency.get('USD')!;
    const eurCents = fixture.centsByCurrency.get('EUR')!;
    expect(usdCents).toBeGreaterThan(eurCents);
    await eventually(() => page.getByTestId('net-revenue').getAttribute('data-value')).toBe(
      String(Number(usdCents) / 100),
    );
    const shown = await page.getByTestId('net-revenue').textContent();
    expect(shown).toBe(
      new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(Number(usdCents) / 100),
    );
    expect(await page.getByTestId('row-summary').textContent()).toContain(
      `${fixture.badLines.length} rejected`,
    );
    const rejectedLines = await page
      .locator('[data-testid=rejected-rows] tbody tr td:first-child')
      .allTextContents();
    expect(rejectedLines.map(Number)).toEqual(fixture.badLines);

    // Currency switch: EUR's own figures.
    await page.getByRole('button', { name: 'EUR' }).click();
    await eventually(() => page.getByTestId('net-revenue').getAttribute('data-value')).toBe(
      String(Number(eurCents) / 100),
    );
    await page.getByRole('button', { name: 'USD' }).click();

    expect(await page.locator('[data-testid=monthly-chart] .recharts-bar-rectangle').count()).toBe(18);
    expect(await page.getByTestId('cohorts').locator('tbody tr').count()).toBe(18);
    expect(await page.getByTestId('recent-jobs').getByRole('link').first().textContent()).toContain(
      'revenue-export.csv',
    );

    // Beside the result: how the file was read.
    const reading = page.getByTestId('file-reading');
    expect(await reading.getByTestId('reading-delimiter').textContent()).toBe('Comma');
    expect(await reading.getByTestId('reading-column-date').textContent()).toBe('“order_date”');
    expect(await reading.getByTestId('reading-column-amount').textContent()).toBe('“amount”');
    expect(await reading.getByTestId('reading-column-customer').textContent()).toBe('“customer_email”');
    // v1.1 fields (input.encoding, input.dateFormat): shown exactly when the server reports them.
    const input = (await apiResult(jobUrl.split('/').pop()!)).input;
    expect(await reading.getByTestId('reading-encoding').count()).toBe('encoding' in input ? 1 : 0);
    expect(await reading.getByTestId('reading-date-order').count()).toBe('dateFormat' in input ? 1 : 0);

    await page.screenshot({ path: path.join(screenshots, 'analysis-desktop.png'), fullPage: true });
    await page.close();
  }, 90_000);

  it('fits a phone screen (no sideways scrolling) and saves its screenshot', async () => {
    expect(jobUrl, 'needs the job of the first test').toBeDefined();
    const page = await newPage(390, 844);
    await page.goto(jobUrl);
    await eventually(() => page.getByTestId('net-revenue').count(), { timeout: 20_000 }).toBe(1);
    // The chart measures its container after layout and only then draws its surface: wait
    // for the surface, so the overflow read below sees the laid-out page.
    const surface = page.getByTestId('monthly-chart').locator('svg.recharts-surface');
    await eventually(() => surface.count(), { timeout: 10_000 }).toBeGreaterThan(0);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: path.join(screenshots, 'analysis-phone.png') });
    await page.close();
  });

  it('shows the timeout message with ?maxPolls=1, and keeps watching on request', async () => {
    const page = await newPage();
    await page.goto(`${base}/?maxPolls=1&pollMs=200`);
    await page.getByTestId('file-input').setInputFiles(fixture.path);
    await page.getByRole('button', { name: 'Analyse' }).click();
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}\?maxPolls=1&pollMs=200$/, { timeout: 30_000 });

    const timeout = page.getByTestId('timeout');
    await eventually(() => timeout.count(), { timeout: 10_000 }).toBe(1);
    expect(await timeout.textContent()).toMatch(
      /stopped checking after 1 status check.*may still be running/,
    );
    expect(await page.getByRole('alert').filter({ hasText: 'Still not finished' }).count()).toBe(1);

    // Cancel it, then "Keep watching": a check finds it cancelled.
    // Keep watching once the cancel has been answered (a person cannot click within the
    // same millisecond; the single allowed poll must not race the cancel's commit).
    // The page offers Cancel whether or not the 200 ms watch heard a status before its
    // deadline (on a loaded machine it may not have: CI once waited here for a button that
    // only a heard status showed).
    await Promise.all([
      page.waitForResponse((r) => r.url().includes('/trpc/jobs.cancel')),
      page.getByRole('button', { name: 'Cancel job' }).click(),
    ]);
    // Each "Keep watching" is one more 200 ms watch; on a loaded machine its first pushed
    // status can come later than that, and the page then says it stopped checking again, as
    // it should: click again, as a person would. The watch request marks the new watch, so
    // the stale message of the one before is never read as its outcome.
    const cancelled = page.getByTestId('cancelled');
    for (let watches = 1; ; watches++) {
      await Promise.all([
        page.waitForRequest((r) => r.url().includes('/trpc/jobs.watch')),
        page.getByRole('button', { name: 'Keep watching' }).click(),
      ]);
      await eventually(async () => (await cancelled.count()) + (await timeout.count()), {
        timeout: 10_000,
      }).toBe(1);
      if ((await cancelled.count()) === 1) break;
      expect(watches, 'ten 200 ms watches in a row heard no status').toBeLessThan(10);
    }
    expect(await timeout.count()).toBe(0);
    const jobPage = page.url().split('?')[0];
    await page.close();

    // A watch whose deadline comes before any status (its stream held unanswered here, as a
    // slow network or a loaded server would) shows no state, and still offers Cancel and
    // Keep watching: as far as the page knows, the job may be running.
    const blind = await newPage();
    await blind.route('**/trpc/jobs.watch**', () => undefined);
    await blind.goto(`${jobPage}?maxPolls=1&pollMs=200`);
    await eventually(() => blind.getByTestId('timeout').count(), { timeout: 10_000 }).toBe(1);
    expect(await blind.getByTestId('job').getAttribute('data-state')).toBeNull();
    expect(await blind.getByRole('button', { name: 'Cancel job' }).count()).toBe(1);
    expect(await blind.getByRole('button', { name: 'Keep watching' }).count()).toBe(1);
    await blind.close();
    // Its own timeout: it uploads the 78 MB fixture through the page (a job that runs long
    // enough to cancel); upload and page took 30–40 s at load 12–15, past the 30 s default.
  }, 90_000);

  it('shows the server’s message for a failed job and for a refused upload', async () => {
    const page = await newPage();
    await page.goto(base);
    // Only a header: the upload is accepted, the job fails with NO_VALID_ROWS.
    await page.getByTestId('file-input').setInputFiles({
      name: 'empty.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('date,amount\nsoon,12.00\n'),
    });
    await page.getByRole('button', { name: 'Analyse' }).click();
    await eventually(() => page.getByTestId('failed').count(), { timeout: 20_000 }).toBe(1);
    expect(await page.getByTestId('failed').textContent()).toContain('NO_VALID_ROWS');

    await page.goto(base);
    await page.getByTestId('file-input').setInputFiles({
      name: 'binary.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256)),
    });
    await page.getByRole('button', { name: 'Analyse' }).click();
    const alert = page.getByRole('alert');
    await eventually(() => alert.count(), { timeout: 10_000 }).toBe(1);
    expect(await alert.textContent()).toMatch(/csv/i);
    expect(page.url()).toBe(`${base}/`);
    await page.close();
  });
});

describe('fixing a mapping without uploading again', () => {
  // The payment date sits under a header no matcher knows, beside another column of dates
  // (the invoice date), so Tally cannot infer which one is meant (v1.2 infers the date only
  // where exactly one column reads as dates). 100.00 + 23.45 - 3.45 = 120.00.
  const UNKNOWN_DATE_HEADER = [
    'Fecha cobro,Fecha factura,Amount,Customer',
    '2024-01-05,2023-12-20,100.00,alice',
    '2024-02-10,2024-01-31,23.45,bob',
    '2024-02-11,2024-01-31,-3.45,alice',
  ].join('\n');

  it('a refused upload opens the mapping with the file’s own headers, in the page’s words', async () => {
    const page = await newPage();
    await page.goto(base);
    await page.getByTestId('file-input').setInputFiles({
      name: 'bank-export.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(UNKNOWN_DATE_HEADER),
    });
    await page.getByRole('button', { name: 'Analyse' }).click();

    const request = page.getByTestId('mapping-request');
    await eventually(() => request.count(), { timeout: 10_000 }).toBe(1);
    const words = (await request.textContent()) ?? '';
    expect(words).toMatch(/couldn’t tell which column of “bank-export\.csv” holds the date/);
    expect(words).not.toMatch(/options\.columns|INVALID_CSV|Map one with/);
    expect(page.url()).toBe(`${base}/`);
    // The panel is open and the Date field, offering the file's own headers, has the focus.
    expect(await page.locator('details.format-options').getAttribute('open')).not.toBeNull();
    const date = page.getByLabel('Date', { exact: true });
    expect(await date.locator('option').allTextContents()).toEqual([
      'Detect',
      'Fecha cobro',
      'Fecha factura',
      'Amount',
      'Customer',
    ]);
    expect(await date.evaluate((el) => el === document.activeElement)).toBe(true);
    expect(await date.getAttribute('aria-invalid')).toBe('true');
    await page.screenshot({ path: path.join(screenshots, 'mapping-request.png'), fullPage: true });

    await date.selectOption('Fecha cobro');
    await page.getByRole('button', { name: 'Analyse' }).click();
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/, { timeout: 30_000 });
    await eventually(() => page.getByTestId('net-revenue').getAttribute('data-value'), {
      timeout: 20_000,
    }).toBe('120');
    expect(await page.getByTestId('reading-column-date').textContent()).toBe('“Fecha cobro”');
    await page.close();
  });

  it('re-runs a failed job with a corrected date column and shows the right total; the old job stays failed', async () => {
    const page = await newPage();
    await page.goto(base);
    await page.getByTestId('file-input').setInputFiles({
      name: 'payments.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(WRONG_DATE_COLUMN),
    });
    await page.getByRole('button', { name: 'Analyse' }).click();
    await eventually(() => page.getByTestId('failed').count(), { timeout: 20_000 }).toBe(1);
    const failedUrl = page.url();
    const failedId = failedUrl.split('/').pop()!;

    // The failed job offers the form, with the columns of the file this tab uploaded.
    const form = page.getByTestId('failed-rerun');
    const date = form.getByLabel('Date', { exact: true });
    await eventually(() => date.locator('option').allTextContents()).toEqual([
      'Detect',
      'Date',
      'Fecha cobro',
      'Amount',
      'Customer',
    ]);
    await date.selectOption('Fecha cobro');
    await page.screenshot({ path: path.join(screenshots, 'rerun-failed.png'), fullPage: true });
    await form.getByRole('button', { name: 'Re-run with these settings' }).click();

    await page.waitForURL(
      (url) => /\/jobs\/[0-9a-f-]{36}$/.test(url.pathname) && !url.pathname.endsWith(failedId),
      {
        timeout: 10_000,
      },
    );
    const rerunId = page.url().split('/').pop()!;
    expect(rerunId).not.toBe(failedId);
    await eventually(() => page.getByTestId('net-revenue').getAttribute('data-value'), {
      timeout: 20_000,
    }).toBe('160.75');
    expect(await page.getByTestId('reading-column-date').textContent()).toBe('“Fecha cobro”');
    expect(await page.getByTestId('rerun-of').count()).toBe(1);
    expect(await page.getByTestId('recent-jobs').getByRole('link').first().getAttribute('href')).toBe(
      `/jobs/${rerunId}`,
    );

    // "Change and re-run" on the completed re-run starts from what it used.
    await page.getByRole('button', { name: 'Change and re-run' }).click();
    expect(await page.getByTestId('file-reading').getByLabel('Date', { exact: true }).inputValue()).toBe(
      'Fecha cobro',
    );
    await page.screenshot({ path: path.join(screenshots, 'rerun-completed.png'), fullPage: true });

    // The old job: still failed, with its own message.
    await page.getByTestId('rerun-of').getByRole('link').click();
    await eventually(() => page.getByTestId('failed').count(), { timeout: 10_000 }).toBe(1);
    expect(page.url()).toBe(failedUrl);
    expect(await page.getByTestId('failed').textContent()).toContain('NO_VALID_ROWS');

    // After a reload the tab no longer holds the file: picking it again lists its columns
    // (it is only read in the browser; the re-run still uses the stored copy).
    await page.reload();
    const again = page.getByTestId('failed-rerun');
    await eventually(() => again.getByTestId('rerun-file-input').count(), { timeout: 10_000 }).toBe(1);
    expect(await again.getByLabel('Date', { exact: true }).evaluate((el) => el.tagName)).toBe('INPUT');
    await again.getByTestId('rerun-file-input').setInputFiles({
      name: 'payments.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(WRONG_DATE_COLUMN),
    });
    await eventually(() =>
      again.getByLabel('Date', { exact: true }).locator('option').allTextContents(),
    ).toContain('Fecha cobro');
    await page.close();
  });
});

describe('rows that are not sales (contract v1.2)', () => {
  // A payment provider's balance export: charges and a refund are sales, the payout and the
  // provider's fee are not (type words, reference "Rows that are not sales"). Net 100 + 50 + 30 − 20 = 160.
  // Leaving out "invoice_payment" (30) gives 130. The 50.00 charge at 22:00 −04:00 on
  // 30 June is 1 July in Berlin, so the period ends a day later with that time zone.
  const BALANCE = [
    'id,Type,Amount,Currency,Created',
    't1,charge,100.00,usd,2024-06-01 10:00:00 -0400',
    't2,charge,50.00,usd,2024-06-30 22:00:00 -0400',
    't3,invoice_payment,30.00,usd,2024-06-10 12:00:00 -0400',
    't4,refund,-20.00,usd,2024-06-04 09:00:00 -0400',
    't5,payout,-120.00,usd,2024-06-06 00:00:00 -0400',
    't6,stripe_fee,-15.00,usd,2024-06-20 23:00:00 -0400',
  ].join('\n');

  it('says what was left out, lets the person leave out a value and set the time zone, re-runs, and shows the new total', async () => {
    const page = await newPage();
    await page.goto(base);
    await page.getByTestId('file-input').setInputFiles({
      name: 'balance-history.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(BALANCE),
    });
    await page.getByRole('button', { name: 'Analyse' }).click();
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/, { timeout: 30_000 });
    const firstId = page.url().split('/').pop()!;
    await eventually(() => page.getByTestId('net-revenue').getAttribute('data-value'), {
      timeout: 20_000,
    }).toBe('160');
    expect(await page.getByTestId('date-range').getAttribute('data-value')).toBe('2024-06-01/2024-06-30');

    // Without opening anything: one line says what was not a sale.
    const note = (await page.getByTestId('excluded-note').textContent()) ?? '';
    expect(note).toMatch(/^2 rows were not sales: /);
    expect(note).toContain('payout 1');
    expect(note).toContain('stripe_fee 1');
    expect(await page.getByTestId('row-summary').textContent()).toContain('2 not sales');

    // The card: why, with counts, and each type value with how it was read.
    const card = page.getByTestId('file-reading');
    await card.getByText('Which rows count, and dates').click();
    const reasons = card.getByTestId('exclusions').locator('tbody tr td:first-child');
    expect((await reasons.allTextContents()).sort()).toEqual(['payout', 'stripe_fee']);
    const type = card.getByTestId('category-type');
    expect(await type.locator('tbody th').allTextContents()).toEqual(
      expect.arrayContaining(['charge', 'invoice_payment', 'refund', 'payout', 'stripe_fee']),
    );
    const invoice = card.getByRole('checkbox', { name: 'Count rows whose Type is “invoice_payment”' });
    expect(await invoice.isChecked()).toBe(true);
    expect(await card.getByRole('checkbox', { name: 'Count rows whose Type is “payout”' }).isChecked()).toBe(
      false,
    );

    await invoice.uncheck();
    await card.getByLabel('Time zone of dates with a zone').selectOption('Europe/Berlin');
    await page.screenshot({ path: path.join(screenshots, 'rows-not-sales.png'), fullPage: true });
    await card.getByTestId('rows-rerun').getByRole('button', { name: 'Re-run with these settings' }).click();

    await page.waitForURL(
      (url) => /\/jobs\/[0-9a-f-]{36}$/.test(url.pathname) && !url.pathname.endsWith(firstId),
      { timeout: 10_000 },
    );
    await eventually(() => page.getByTestId('net-revenue').getAttribute('data-value'), {
      timeout: 20_000,
    }).toBe('130');
    expect(await page.getByTestId('date-range').getAttribute('data-value')).toBe('2024-06-01/2024-07-01');
    expect(await page.getByTestId('reading-time-zone').textContent()).toBe('Europe/Berlin');
    expect(await page.getByTestId('excluded-note').textContent()).toContain(
      'invoice_payment (your choice) 1',
    );
    expect(await page.getByTestId('rerun-of').count()).toBe(1);

    // The re-run's card starts from what it used: the value stays unticked, the zone chosen.
    const again = page.getByTestId('file-reading');
    await again.getByText('Which rows count, and dates').click();
    expect(
      await again.getByRole('checkbox', { name: 'Count rows whose Type is “invoice_payment”' }).isChecked(),
    ).toBe(false);
    expect(await again.getByLabel('Time zone of dates with a zone').inputValue()).toBe('Europe/Berlin');
    await page.close();
  }, 60_000);
});

describe('a result with a huge month series', () => {
  // One sale a month for 50 years, each by a new customer: 600 months and 600 cohorts, the
  // most the analysis allows (src/analysis/aggregate/limits.ts: 1990–2099, MAX_MONTHS 600). Drawn in
  // full that is ~13k table cells and 600 bars; the page must draw a bounded part.
  const MONTHS = 600;
  const lines = ['date,amount,customer'];
  let cents = 0;
  for (let k = 0; k < MONTHS; k++) {
    const year = 1990 + Math.floor(k / 12);
    const month = String((k % 12) + 1).padStart(2, '0');
    const amount = 1000 + k * 7;
    cents += amount;
    lines.push(`${year}-${month}-15,${formatCents(amount)},c${k}`);
  }

  it('stays small in the DOM: yearly bars, tables a page at a time, exact totals', async () => {
    const form = new FormData();
    form.append('file', new Blob([lines.join('\n')]), 'fifty-years.csv');
    const upload = await fetch(`${base}/api/jobs`, { method: 'POST', body: form });
    expect(upload.status).toBe(202);
    const { jobId } = (await upload.json()) as { jobId: string };
    const page = await newPage();
    await page.goto(`${base}/jobs/${jobId}`);
    await eventually(() => page.getByTestId('net-revenue').getAttribute('data-value'), {
      timeout: 30_000,
    }).toBe(String(cents / 100));
    const result = (await apiResult(jobId)).currencies[0];
    expect(result.monthly).toHaveLength(MONTHS);

    expect(await page.getByTestId('chart-grain').textContent()).toMatch(
      new RegExp(`${MONTHS} months.*a year`),
    );
    expect(await page.locator('[data-testid=monthly-chart] .recharts-bar-rectangle').count()).toBe(
      MONTHS / 12,
    );
    const cohortRows = page.getByTestId('cohorts').locator('tbody tr');
    expect(await cohortRows.count()).toBe(Math.min(60, result.cohorts.length));
    expect(await page.getByTestId('month-table').count()).toBe(0); // closed: not rendered at all
    const elements = () => page.evaluate(() => document.getElementsByTagName('*').length);
    expect(await elements()).toBeLessThan(5000);

    // A click renders on React's next commit: wait for the rows rather than count at once
    // (counting at once found 0 rows in 1 of 5 runs under load).
    await page.getByText('Show as a table').click();
    const monthRows = page.getByTestId('month-table').locator('tbody tr');
    await eventually(() => monthRows.count()).toBe(60);
    await page.getByTestId('month-table').locator('..').locator('..').getByTestId('show-more').click();
    await eventually(() => monthRows.count()).toBe(120);
    expect(await monthRows.first().locator('th').textContent()).toBe(
      new Intl.DateTimeFormat(undefined, { month: 'short', year: 'numeric', timeZone: 'UTC' }).format(
        Date.UTC(1990, 0, 1),
      ),
    );
    expect(await elements()).toBeLessThan(6000);
    await page.close();
  }, 60_000);
});

describe('Content-Security-Policy and frame protection', () => {
  it('serves the page, its routes and its assets with the policy and frame protection', async () => {
    const page = await newPage();
    const assets: Record<string, string>[] = [];
    page.on('response', (r) => {
      if (r.url().includes('/assets/')) assets.push(r.headers());
    });
    const response = await page.goto(`${base}/`);
    await page.goto(`${base}/jobs/0190a4d2-0000-7000-8000-000000000000`);
    await eventually(() => page.getByText('Job not found').count(), { timeout: 10_000 }).toBe(1);
    for (const headers of [response!.headers(), ...assets]) {
      expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(headers['content-security-policy']).toContain("script-src 'self'");
      expect(headers['content-security-policy']).not.toContain('unsafe-inline');
      expect(headers['x-frame-options']).toBe('DENY');
      expect(headers['x-content-type-options']).toBe('nosniff');
    }
    expect(assets.length).toBeGreaterThanOrEqual(2); // the script and the stylesheet
    await page.close();
  });

  it('refuses to be framed by another site', async () => {
    const page = await newPage(1280, 900, []);
    // Another origin (a data: page has an opaque one) framing the page.
    await page.goto(`data:text/html,<iframe id="f" src="${base}/" width="800" height="600"></iframe>`);
    const framed = page.frames().find((f) => f !== page.mainFrame());
    expect(framed, 'the iframe exists').toBeDefined();
    // Blocked: the frame ends on the browser's error page, never on the app.
    await eventually(() => framed!.url(), { timeout: 10_000 }).toMatch(/^chrome-error:/);
    expect(await framed!.getByText('Analyse a revenue export').count()).toBe(0);
    await page.close();
  });

  it('no page of this file hit the policy, and the collector does see a violation when one happens', async () => {
    expect(cspViolations).toEqual([]);
    // The control: an inline script and a foreign image, both refused and both reported.
    const seen: string[] = [];
    const page = await newPage(1280, 900, seen);
    await page.goto(base);
    await eventually(() => page.getByRole('heading', { name: 'Analyse a revenue export' }).count(), {
      timeout: 10_000,
    }).toBe(1);
    await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.__inlineRan = true';
      document.body.append(script);
      const img = document.createElement('img');
      img.src = 'https://example.invalid/pixel.png';
      document.body.append(img);
    });
    await eventually(() => seen.length, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
    expect(
      await page.evaluate(() => (window as unknown as { __inlineRan?: boolean }).__inlineRan),
    ).toBeUndefined();
    expect(seen.join('\n')).toMatch(/script-src/);
    expect(seen.join('\n')).toMatch(/img-src/);
    await page.close();
  });
});

async function apiResult(jobId: string): Promise<any> {
  const res = await fetch(`${base}/trpc/jobs.result?input=${encodeURIComponent(JSON.stringify({ jobId }))}`);
  const body = (await res.json()) as { result: { data: unknown } };
  return body.result.data;
}

/**
 * expect.poll with a deadline that suits a page on a shared 2-core machine (vitest's 1 s
 * default failed a first page load while other suites ran).
 */
function eventually<T>(fn: () => T | Promise<T>, opts: { timeout?: number } = {}) {
  return expect.poll(fn, { timeout: 15_000, ...opts });
}

async function progressValue(page: Page): Promise<number | undefined> {
  const bar = page.getByTestId('job-progress');
  if ((await bar.count()) === 0) return undefined;
  const value = await bar.getAttribute('aria-valuenow').catch(() => null);
  return value === null ? undefined : Number(value);
}

async function waitForHealthy(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`the server exited (${server.exitCode}):\n${serverLog}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the server did not become healthy within ${timeoutMs} ms:\n${serverLog}`);
}
