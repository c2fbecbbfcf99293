import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { writeRevenueFixture, type Fixture } from './revenue-fixture.ts';

/**
 * The web UI end to end: Vite build → `src/main.ts` as a child process (what `npm start`
 * runs) on a fresh database → Chromium drives the page over real HTTP.
 */
const CHROMIUM = '/usr/bin/chromium';
const repo = path.resolve(import.meta.dirname, '..', '..');
const webDir = path.join(repo, 'src', 'web');
const distIndex = path.join(webDir, 'dist', 'index.html');
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

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM}: install it with "apt-get install -y chromium" (CI does).`,
    );
  }
  buildWebIfStale();
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
      SPOOL_DIR: path.join(tmp, 'spool'),
      DATA_DIR: path.join(tmp, 'data'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout?.on('data', (d: Buffer) => (serverLog += d.toString()));
  server.stderr?.on('data', (d: Buffer) => (serverLog += d.toString()));
  await waitForHealthy(`${base}/healthz`, 60_000);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
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

async function newPage(width = 1280, height = 900): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height } });
  page.on('pageerror', (error) => {
    throw new Error(`page error: ${error.message}\nserver log:\n${serverLog}`);
  });
  return page;
}

describe('web UI against `src/main.ts` in a child process', () => {
  let jobUrl: string;

  it('uploads a CSV, shows the processing bar moving, resumes after a reload, and shows exact totals', async () => {
    const page = await newPage();
    await page.goto(base);
    await expect.poll(() => page.getByRole('heading', { name: 'Analyse a revenue export' }).count()).toBe(1);

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
    await expect.poll(() => page.getByTestId('dropzone').textContent()).toContain('revenue-export.csv');
    // The mapping selects offer the file's own header names, read in the browser.
    await page.getByText('Column mapping and format options').click();
    const amountOptions = () =>
      page.getByLabel('Amount', { exact: true }).locator('option').allTextContents();
    await expect
      .poll(amountOptions)
      .toEqual([
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

    await page.reload();
    // The same job, watched again from its URL: still running, and the bar keeps moving.
    await expect.poll(() => page.getByTestId('job').getAttribute('data-state')).toMatch(/running|completed/);
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
    await expect
      .poll(() => page.getByTestId('net-revenue').getAttribute('data-value'))
      .toBe(String(Number(usdCents) / 100));
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
    await expect
      .poll(() => page.getByTestId('net-revenue').getAttribute('data-value'))
      .toBe(String(Number(eurCents) / 100));
    await page.getByRole('button', { name: 'USD' }).click();

    expect(await page.locator('[data-testid=monthly-chart] .recharts-bar-rectangle').count()).toBe(18);
    expect(await page.getByTestId('cohorts').locator('tbody tr').count()).toBe(18);
    expect(await page.getByTestId('recent-jobs').getByRole('link').first().textContent()).toContain(
      'revenue-export.csv',
    );

    await page.screenshot({ path: path.join(screenshots, 'analysis-desktop.png'), fullPage: true });
    await page.close();
  }, 90_000);

  it('fits a phone screen (no sideways scrolling) and saves its screenshot', async () => {
    expect(jobUrl, 'needs the job of the first test').toBeDefined();
    const page = await newPage(390, 844);
    await page.goto(jobUrl);
    await expect.poll(() => page.getByTestId('net-revenue').count(), { timeout: 20_000 }).toBe(1);
    await page.waitForTimeout(300); // the chart measures its container after layout
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
    await expect.poll(() => timeout.count(), { timeout: 10_000 }).toBe(1);
    expect(await timeout.textContent()).toMatch(
      /stopped checking after 1 status check.*may still be running/,
    );
    expect(await page.getByRole('alert').filter({ hasText: 'Still not finished' }).count()).toBe(1);

    // Cancel it, then "Keep watching": one more check finds it cancelled.
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await page.getByRole('button', { name: 'Keep watching' }).click();
    await expect.poll(() => page.getByTestId('cancelled').count(), { timeout: 10_000 }).toBe(1);
    expect(await timeout.count()).toBe(0);
    await page.close();
  });

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
    await expect.poll(() => page.getByTestId('failed').count(), { timeout: 20_000 }).toBe(1);
    expect(await page.getByTestId('failed').textContent()).toContain('NO_VALID_ROWS');

    await page.goto(base);
    await page.getByTestId('file-input').setInputFiles({
      name: 'binary.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256)),
    });
    await page.getByRole('button', { name: 'Analyse' }).click();
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.count(), { timeout: 10_000 }).toBe(1);
    expect(await alert.textContent()).toMatch(/csv/i);
    expect(page.url()).toBe(`${base}/`);
    await page.close();
  });
});

async function progressValue(page: Page): Promise<number | undefined> {
  const bar = page.getByTestId('job-progress');
  if ((await bar.count()) === 0) return undefined;
  const value = await bar.getAttribute('aria-valuenow').catch(() => null);
  return value === null ? undefined : Number(value);
}

/** Rebuild src/web/dist when any source of the page is newer than the last build. */
function buildWebIfStale(): void {
  const built = existsSync(distIndex) ? statSync(distIndex).mtimeMs : 0;
  const newest = Math.max(
    newestMtime(path.join(webDir, 'src')),
    newestMtime(path.join(repo, 'src', 'client')),
    statSync(path.join(webDir, 'index.html')).mtimeMs,
    statSync(path.join(webDir, 'vite.config.ts')).mtimeMs,
  );
  if (newest <= built) return;
  execFileSync(
    process.execPath,
    [
      path.join(repo, 'node_modules', 'vite', 'bin', 'vite.js'),
      'build',
      '--config',
      'src/web/vite.config.ts',
      '--logLevel',
      'warn',
    ],
    {
      cwd: repo,
      stdio: 'inherit',
    },
  );
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
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
