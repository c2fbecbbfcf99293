import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { build } from 'esbuild';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBrowserToken } from '../../src/auth/create-browser-token.ts';
import { freePort } from '../support/child-process.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { postCsv } from '../support/http.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';
import { launchChromium, requireChromium } from '../support/chromium.ts';

// watchJob in a real Chromium, from a page on another origin (CORS), with a token provider
// that fetches a fresh short-lived token from "the app's backend" for every connection:
// the watch survives a restart of Tally (it resumes after the last version) and every
// reconnect carries a new token.

const KEY = 'kb1:7e3a9c1f5b8d2e6a4c0f9b3d7a1e5c9f2b6d0a4e8c3f7b1d';
const root = path.resolve(import.meta.dirname, '..', '..');

let database: TestDatabase;
let tallyPort: number;
let tally: TestTally;
let page: Server;
let pageOrigin: string;
let browser: Browser;
let minted = 0;

const startTally = () =>
  startTestTally({
    role: 'api',
    database,
    env: { PORT: String(tallyPort), TOKEN_SIGNING_KEYS: KEY, CORS_ORIGINS: pageOrigin },
    keepAfterTest: true, // a restart in a test serves the tests after it; afterAll stops it
  });

beforeAll(async () => {
  requireChromium();
  database = await createTestDatabase();
  tallyPort = await freePort();
  const bundle = await build({
    stdin: {
      contents: `
        import { createTallyClient } from ${JSON.stringify(path.join(root, 'src/client/index.ts'))};
        window.versions = [];
        window.watch = (baseUrl, jobId) => {
          const tally = createTallyClient({ baseUrl, token: async () => (await fetch('/token')).text() });
          return tally
            .watchJob(jobId, { deadlineMs: 60000, onProgress: (s) => window.versions.push(s.version) })
            .then((s) => s.state, (e) => 'error: ' + e.name + ': ' + e.message);
        };`,
      resolveDir: root,
      loader: 'ts',
    },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
  });
  const app = bundle.outputFiles[0]!.text;
  page = createServer((req, res) => {
    if (req.url === '/app.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(app);
    else if (req.url === '/token') {
      minted += 1;
      void createBrowserToken({
        owner: 'alice',
        scopes: ['read'],
        ttlSeconds: 60 + minted,
        signingKey: KEY,
      }).then((t) => res.writeHead(200, { 'content-type': 'text/plain' }).end(t.token));
    } else
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<script type="module" src="/app.js"></script>');
  });
  await new Promise<void>((r) => page.listen(0, '127.0.0.1', r));
  const address = page.address();
  pageOrigin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  tally = await startTally();
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await tally?.stop();
  await new Promise<void>((r) => (page ? page.close(() => r()) : r()));
  await database?.drop();
});

describe('watchJob in Chromium', () => {
  it('resumes across a Tally restart, refreshing its token on every reconnect', async () => {
    const aliceToken = (
      await createBrowserToken({ owner: 'alice', scopes: ['upload'], ttlSeconds: 60, signingKey: KEY })
    ).token;
    const upload = await postCsv(tally.url, 'date,amount\n2024-01-01,1\n', {
      headers: { authorization: `Bearer ${aliceToken}` },
    });
    expect(upload.status).toBe(202);
    const jobId = upload.body.jobId as string;
    const update = (set: string) => database.sql.query(`update jobs set ${set} where id = $1`, [jobId]);

    const tab = await browser.newPage();
    await tab.goto(pageOrigin);
    await tab.waitForFunction(() => typeof (window as unknown as { watch?: unknown }).watch === 'function');
    const watched = tab.evaluate(
      ([base, id]) =>
        (window as unknown as { watch: (b: string, j: string) => Promise<string> }).watch(base!, id!),
      [tally.url, jobId],
    );
    const seen = (version: number) =>
      tab.waitForFunction(
        (v) => (window as unknown as { versions: number[] }).versions.includes(v),
        version,
        {
          timeout: 30_000,
        },
      );
    await seen(1);
    await update("state = 'running', started_at = now(), rows_processed = 1"); // 2
    await seen(2);
    const tokensBefore = minted;

    await tally.stop();
    await update('rows_processed = 2'); // 3, while no server runs
    tally = await startTally();
    await seen(3);
    await update("state = 'completed', finished_at = now()"); // 4

    expect(await watched).toBe('completed');
    const versions = await tab.evaluate(() => (window as unknown as { versions: number[] }).versions);
    expect(versions).toEqual([1, 2, 3, 4]);
    expect(minted).toBeGreaterThan(tokensBefore);
    await tab.close();
  });
});
