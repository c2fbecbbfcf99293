import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClientPackages } from '../../scripts/build-client-packages.ts';
import { freePort } from '../support/child-process.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { launchChromium, requireChromium } from '../support/chromium.ts';

/**
 * examples/nextjs end to end, as an outside app: the packed tarballs installed into a
 * copy of the example outside the repository, `next dev` on one loopback port, Tally
 * (test/support/tally-process.ts, workers throttled so a job can outlive a token) on
 * another, a third origin not in CORS_ORIGINS, and Chromium.
 *
 * `next dev` rather than `next build` + `next start`: measured on this 2-core machine,
 * the build took 2 min 18 s (50 s of it type-checking), dev 46 s to the first page.
 */
const repo = path.resolve(import.meta.dirname, '..', '..');
const run = promisify(execFile);
const SIGNING_KEYS = 'ex1:7b3e9d1f5a2c8e4b6d0f3a9c7e1b5d2f8a4c6e0b';
const TOKEN_TTL_SECONDS = 3; // + 5 s clock tolerance: a 15 s job outlives several tokens
const SESSION_SECRET = 'c2f8a1e6b4d9073e5a1c8f2b6d4e9a7c3b5f1d8e';

let tmp: string;
let database: TestDatabase;
let tally: ChildProcess;
let next: ChildProcess;
let thirdOrigin: http.Server;
let logs = '';
let tallyUrl: string;
let appUrl: string;
let otherUrl: string;
let browser: Browser;

beforeAll(async () => {
  requireChromium();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'tally-nextjs-'));
  const [db, tallyPort, appPort, otherPort] = await Promise.all([
    createTestDatabase(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  database = db;
  tallyUrl = `http://127.0.0.1:${tallyPort}`;
  appUrl = `http://127.0.0.1:${appPort}`;
  otherUrl = `http://127.0.0.1:${otherPort}`;

  // Tally first: it starts while the example installs.
  tally = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/support/tally-process.ts', 'all', '--throttle', '2048:100'],
    {
      cwd: repo,
      env: {
        ...process.env,
        DATABASE_URL: database.url,
        HOST: '127.0.0.1',
        PORT: String(tallyPort),
        CORS_ORIGINS: appUrl,
        TOKEN_SIGNING_KEYS: SIGNING_KEYS,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  collect(tally, 'tally');

  const app = await installExample(tmp);
  next = spawn(
    process.execPath,
    ['node_modules/next/dist/bin/next', 'dev', '-H', '127.0.0.1', '-p', String(appPort)],
    {
      cwd: app,
      env: {
        ...process.env,
        NEXT_TELEMETRY_DISABLED: '1',
        TALLY_URL: tallyUrl,
        TOKEN_SIGNING_KEYS: SIGNING_KEYS,
        TALLY_TOKEN_TTL_SECONDS: String(TOKEN_TTL_SECONDS),
        SESSION_SECRET,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: next dev forks a server we stop with it
    },
  );
  collect(next, 'next');

  thirdOrigin = http.createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'text/html' }).end('<p>other</p>'),
  );
  await new Promise<void>((resolve) => thirdOrigin.listen(otherPort, '127.0.0.1', resolve));

  await Promise.all([waitFor(`${tallyUrl}/healthz`, 90_000), waitFor(appUrl, 180_000)]);
  browser = await launchChromium();
}, 420_000);

afterAll(async () => {
  // The three servers' output, for a failed run (CI keeps test-results/).
  await mkdir(path.join(repo, 'test-results'), { recursive: true });
  await writeFile(path.join(repo, 'test-results', 'nextjs-example.log'), logs);
  await browser?.close();
  await new Promise((resolve) => (thirdOrigin ? thirdOrigin.close(resolve) : resolve(undefined)));
  await Promise.all([stop(next, true), stop(tally, false)]);
  await database?.drop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 60_000);

/** A copy of examples/nextjs outside the repository, with the freshly packed tarballs. */
async function installExample(dir: string): Promise<string> {
  const stage = path.join(dir, 'packages');
  const tarballs = await buildClientPackages({ stage, packTo: stage });
  const app = path.join(dir, 'app');
  await cp(path.join(repo, 'examples/nextjs'), app, {
    recursive: true,
    filter: (src) => !/[/\\](node_modules|\.next)([/\\]|$)/.test(src),
  });
  const pkgPath = path.join(app, 'package.json');
  const pkg = JSON.parse(await readFile(pkgPath, 'utf8')) as { dependencies: Record<string, string> };
  for (const t of tarballs) {
    const name = path.basename(t).startsWith('tally-client') ? '@tally/client' : '@tally/tokens';
    pkg.dependencies[name] = `file:${t}`;
  }
  await writeFile(pkgPath, JSON.stringify(pkg, null, 2));
  const started = Date.now();
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd: app,
    timeout: 300_000,
  });
  logs += `[test] npm install of the example took ${((Date.now() - started) / 1000).toFixed(1)} s\n`;
  return app;
}

function collect(child: ChildProcess, name: string) {
  const add = (d: Buffer) => (logs += `[${name}] ${d.toString()}`);
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
}

async function stop(child: ChildProcess | undefined, group: boolean) {
  if (!child?.pid || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  if (group) process.kill(-child.pid, 'SIGTERM');
  else child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  if (child.exitCode !== null) return;
  if (group) process.kill(-child.pid, 'SIGKILL');
  else child.kill('SIGKILL');
}

async function waitFor(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const [child, name] of [
      [tally, 'tally'],
      [next, 'next'],
    ] as const)
      if (child?.exitCode !== null && child?.exitCode !== undefined)
        throw new Error(`${name} exited:\n${logs}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${logs}`);
}

/** A CSV of `rows` rows with whole-cent amounts, and its exact total. */
function revenueCsv(rows: number, seed: number): { csv: string; total: string } {
  let cents = 0;
  const lines = ['date,amount,customer,currency'];
  for (let i = 0; i < rows; i++) {
    const amount = ((i * 37 + seed * 11) % 9000) + 100;
    cents += amount;
    lines.push(
      `2024-${String((i % 12) + 1).padStart(2, '0')}-15,${(amount / 100).toFixed(2)},c${(i + seed) % 50},USD`,
    );
  }
  return { csv: `${lines.join('\n')}\n`, total: (cents / 100).toFixed(2) };
}

async function signIn(name: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (error) => {
    logs += `[page ${name}] ${error.message}\n`;
  });
  await page.goto(appUrl, { timeout: 120_000 });
  await page.getByLabel('User name').fill(name);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect.poll(() => page.getByTestId('user').textContent(), { timeout: 120_000 }).toBe(name);
  return { context, page };
}

async function upload(page: Page, file: string, csv: string): Promise<string> {
  const jobIds = page.getByTestId('job-id');
  const before = (await jobIds.count()) > 0 ? await jobIds.textContent() : null;
  await page
    .getByLabel('CSV file')
    .setInputFiles({ name: file, mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.getByRole('button', { name: 'Upload' }).click();
  await expect
    .poll(async () => ((await jobIds.count()) > 0 ? await jobIds.textContent() : null), { timeout: 60_000 })
    .not.toBe(before);
  return (await jobIds.textContent()) ?? '';
}

const tokenFromApp = (page: Page) =>
  page.evaluate(async () => {
    const res = await fetch('/api/tally-token', { method: 'POST' });
    return ((await res.json()) as { token: string }).token;
  });

describe('examples/nextjs against Tally on another origin', () => {
  let ann: { context: BrowserContext; page: Page };
  let ben: { context: BrowserContext; page: Page };
  let annJob: string;
  let benJob: string;

  it('two users each upload with a progress bar, watch with useJobStatus and see their own total', async () => {
    ann = await signIn('ann');
    ben = await signIn('ben');
    // useJobStatus({transport: 'watch'}) holds a jobs.watch event stream on Tally's origin,
    // its token in the Authorization header, never in the URL.
    const streams: { url: string; type: string; authorization: string | undefined }[] = [];
    ann.page.on('response', (r) => {
      if (!r.url().startsWith(`${tallyUrl}/trpc/jobs.watch`)) return;
      void r
        .request()
        .allHeaders()
        .then((headers) =>
          streams.push({
            url: r.url(),
            type: r.headers()['content-type'] ?? '',
            authorization: headers.authorization,
          }),
        );
    });
    const annCsv = revenueCsv(40, 1);
    const benCsv = revenueCsv(25, 2);
    expect(annCsv.total).not.toBe(benCsv.total);
    annJob = await upload(ann.page, 'ann.csv', annCsv.csv);
    benJob = await upload(ben.page, 'ben.csv', benCsv.csv);
    expect(annJob).not.toBe(benJob);

    for (const [user, total] of [
      [ann, annCsv.total],
      [ben, benCsv.total],
    ] as const) {
      await expect
        .poll(() => user.page.getByTestId('revenue-total').textContent(), { timeout: 60_000 })
        .toBe(total);
      expect(await user.page.getByTestId('upload-progress').getAttribute('value')).toBe('100');
      expect(await user.page.getByTestId('job-state').textContent()).toBe('completed');
      // tRPC's TanStack Query integration, typed from the published AppRouter, sees the same job.
      await expect
        .poll(() => user.page.getByTestId('query-state').textContent(), { timeout: 30_000 })
        .toBe('completed');
    }
    expect(streams.length).toBeGreaterThan(0);
    for (const stream of streams) {
      expect(stream.type).toMatch(/^text\/event-stream/);
      expect(stream.authorization).toMatch(/^Bearer ./);
      expect(stream.url).not.toMatch(/token|authorization|Bearer/i);
    }
  }, 300_000);

  it('each user lists only their own job, and reading the other’s is 404 from the browser', async () => {
    const listed = (page: Page) =>
      page
        .getByTestId('my-jobs')
        .locator('li')
        .evaluateAll((items) => items.map((li) => li.getAttribute('data-job-id')));
    await expect.poll(() => listed(ann.page), { timeout: 30_000 }).toEqual([annJob]);
    await expect.poll(() => listed(ben.page), { timeout: 30_000 }).toEqual([benJob]);

    const token = await tokenFromApp(ann.page);
    const status = await ann.page.evaluate(
      async ({ tallyUrl, benJob, token }) => {
        const input = encodeURIComponent(JSON.stringify({ jobId: benJob }));
        const res = await fetch(`${tallyUrl}/trpc/jobs.status?input=${input}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        return res.status;
      },
      { tallyUrl, benJob, token },
    );
    expect(status).toBe(404);
  });

  it('a third origin, not in CORS_ORIGINS, is refused by the browser', async () => {
    const token = await tokenFromApp(ann.page);
    const page = await ann.context.newPage();
    await page.goto(otherUrl);
    const attempt = (url: string) =>
      page.evaluate(
        async ({ url, token }) => {
          try {
            const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
            return `answered ${res.status}`;
          } catch (error) {
            return `refused: ${(error as Error).message}`;
          }
        },
        { url, token },
      );
    const url = `${tallyUrl}/trpc/jobs.list?input=${encodeURIComponent('{}')}`;
    expect(await attempt(url)).toMatch(/^refused: Failed to fetch/);
    // The same call from the app's own origin goes through.
    const fromApp = await ann.page.evaluate(
      async ({ url, token }) => (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status,
      { url, token },
    );
    expect(fromApp).toBe(200);
    await page.close();
  });

  it('a watch longer than a token’s life refreshes it through the provider and does not fail', async () => {
    const minted = async () => Number(await ann.page.getByTestId('tokens-minted').textContent());
    const before = await minted();
    // ~300 KB at 20 KB/s in the throttled worker: ~15 s, past a 3 s token plus 5 s tolerance.
    const big = revenueCsv(12_000, 3);
    const started = Date.now();
    await upload(ann.page, 'big.csv', big.csv);
    await expect
      .poll(() => ann.page.getByTestId('revenue-total').textContent(), { timeout: 120_000, interval: 500 })
      .toBe(big.total);
    expect(Date.now() - started).toBeGreaterThan((TOKEN_TTL_SECONDS + 5) * 1000);
    expect(await ann.page.getByTestId('watch-error').count()).toBe(0);
    expect(await minted()).toBeGreaterThanOrEqual(before + 2);
    expect(logs).not.toMatch(/\[page ann\]/);
  }, 180_000);
});

describe('examples/nextjs: the session cannot be forged or planted', () => {
  /** A cookie value in the app's format, signed with `secret`. */
  const signed = (user: string, secret: string, issuedAt = Math.floor(Date.now() / 1000)) => {
    const payload = `${user}.${issuedAt}`;
    return `${payload}.${createHmac('sha256', secret).update(payload).digest('base64url')}`;
  };

  async function withCookies(cookies: { name: string; value: string }[]) {
    const context = await browser.newContext();
    await context.addCookies(cookies.map((c) => ({ ...c, url: appUrl })));
    const page = await context.newPage();
    await page.goto(appUrl, { timeout: 120_000 });
    const signedIn = (await page.getByTestId('user').count()) > 0;
    const tokenStatus = await page.evaluate(
      async () => (await fetch('/api/tally-token', { method: 'POST' })).status,
    );
    await context.close();
    return { signedIn, tokenStatus };
  }

  it('a hand-set, forged, tampered or stale cookie signs no one in and mints no token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const good = signed('mallory', SESSION_SECRET);
    for (const cookies of [
      [{ name: 'example_user', value: 'mallory' }], // the old, unsigned cookie
      [{ name: 'example_session', value: 'mallory' }],
      [{ name: 'example_session', value: signed('mallory', 'f'.repeat(20) + 'another-secret-0123456789') }],
      [{ name: 'example_session', value: good.replace('mallory.', 'ann.') }], // another name, same MAC
      [{ name: 'example_session', value: signed('mallory', SESSION_SECRET, now - 9 * 3600) }], // expired
    ]) {
      expect(await withCookies(cookies), JSON.stringify(cookies)).toEqual({
        signedIn: false,
        tokenStatus: 401,
      });
    }
    // The control: a cookie the app signed is a session (so the refusals above can fail).
    expect(await withCookies([{ name: 'example_session', value: good }])).toEqual({
      signedIn: true,
      tokenStatus: 200,
    });
  }, 120_000);

  /** POST /sign-in with exactly these Host and Origin headers; resolves with status and Set-Cookie. */
  const rawSignIn = (host: string, origin: string | undefined) =>
    new Promise<{ status: number; cookie: string }>((resolve, reject) => {
      const body = 'name=carol';
      const req = http.request(
        {
          host: '127.0.0.1',
          port: new URL(appUrl).port,
          method: 'POST',
          path: '/sign-in',
          setHost: false,
          headers: {
            host,
            ...(origin ? { origin } : {}),
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': String(body.length),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, cookie: String(res.headers['set-cookie'] ?? '') }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  it('the cookie is HttpOnly and SameSite=Lax, and Secure off loopback', async () => {
    const appHost = new URL(appUrl).host;
    const local = await rawSignIn(appHost, appUrl);
    expect(local.status).toBe(303);
    expect(local.cookie).toMatch(/^example_session=carol\.\d+\.[\w-]{43};/);
    expect(local.cookie).toMatch(/HttpOnly/i);
    expect(local.cookie).toMatch(/SameSite=lax/i);
    expect(local.cookie).not.toMatch(/Secure/i);
    const port = new URL(appUrl).port;
    const publicHost = await rawSignIn(`app.example:${port}`, `https://app.example:${port}`);
    expect(publicHost.status).toBe(303);
    expect(publicHost.cookie).toMatch(/; Secure/i);
  }, 60_000);

  it('sign-in and sign-out refuse other origins (login CSRF) and a missing Origin', async () => {
    const appHost = new URL(appUrl).host;
    for (const origin of [otherUrl, 'null', undefined]) {
      const res = await rawSignIn(appHost, origin);
      expect(res.status, String(origin)).toBe(403);
      expect(res.cookie).toBe('');
    }
    // From a real page on another origin: its form posts are refused, the user stays who they were.
    const { context, page } = await signIn('dora');
    const other = await context.newPage();
    await other.goto(otherUrl);
    for (const [action, fields] of [
      ['/sign-in', { name: 'mallory' }],
      ['/sign-out', {}],
    ] as const) {
      const landed = other.waitForNavigation();
      await other.evaluate(
        ({ url, fields }) => {
          const form = document.createElement('form');
          form.method = 'post';
          form.action = url;
          for (const [k, v] of Object.entries(fields)) {
            const input = document.createElement('input');
            input.name = k;
            input.value = v;
            form.append(input);
          }
          document.body.append(form);
          form.submit();
        },
        { url: `${appUrl}${action}`, fields },
      );
      expect((await landed)?.status()).toBe(403);
      await other.goto(otherUrl);
    }
    await page.reload();
    expect(await page.getByTestId('user').textContent()).toBe('dora');
    await context.close();
  }, 180_000);
});
