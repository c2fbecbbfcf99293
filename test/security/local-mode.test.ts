import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { type Browser, type Page, type Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postCsv, trpcQuery } from '../support/http.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';
import { launchChromium, requireChromium } from '../support/chromium.ts';

/**
 * Auth-off mode (loopback, no keys) serves only requests naming a loopback host with its
 * port and not coming from another site (docs/reference.md, "Security"). Over real HTTP with the
 * headers browsers send, then from a real Chromium: a page on another origin posting a
 * form and calling fetch, and a page reached through a rebinding host name.
 */
const CSV = 'date,amount\n2024-01-05,10.00\n';

let tally: TestTally;
let port: number;
let keyed: TestTally;

beforeAll(async () => {
  [tally, keyed] = await Promise.all([
    startTestTally(),
    startTestTally({ env: { API_TOKENS: 'alice:local-mode-test-key-8c1e4f2a9b' } }),
  ]);
  port = Number(new URL(tally.url).port);
});
afterAll(() => Promise.all([tally?.stop(), keyed?.stop()]));

/** All jobs of the local owner, asked the way a local script asks (no browser headers). */
async function jobCount(): Promise<number> {
  const list = await trpcQuery(tally.url, 'jobs.list', { limit: 100 });
  expect(list.status).toBe(200);
  return (list.body.result.data.items as unknown[]).length;
}

/** A raw request with exactly these headers (fetch would replace Host). */
function rawRequest(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, setHost: false }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function multipart(csv: string): { body: Buffer; type: string } {
  const boundary = 'localmode';
  return {
    type: `multipart/form-data; boundary=${boundary}`,
    body: Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.csv"\r\n` +
        `Content-Type: text/csv\r\n\r\n${csv}\r\n--${boundary}--\r\n`,
    ),
  };
}

describe('auth-off mode over HTTP', () => {
  it.each([
    ['127.0.0.1:<port>', () => `127.0.0.1:${port}`],
    ['localhost:<port>', () => `localhost:${port}`],
    ['[::1]:<port>', () => `[::1]:${port}`],
    ['127.1.2.3:<port>', () => `127.1.2.3:${port}`],
  ])('serves Host %s with no Origin (curl, scripts)', async (_name, host) => {
    const res = await rawRequest('GET', '/trpc/jobs.list?input=%7B%7D', { host: host() });
    expect(res.status).toBe(200);
  });

  it('serves the page’s own same-origin requests (Origin its own, Sec-Fetch-Site same-origin or none)', async () => {
    const { body, type } = multipart(CSV);
    const before = await jobCount();
    const res = await rawRequest(
      'POST',
      '/api/jobs',
      {
        host: `localhost:${port}`,
        origin: `http://localhost:${port}`,
        'sec-fetch-site': 'same-origin',
        'content-type': type,
        'content-length': String(body.length),
      },
      body,
    );
    expect(res.status).toBe(202);
    const typed = await rawRequest('GET', '/healthz', {
      host: `127.0.0.1:${port}`,
      'sec-fetch-site': 'none',
    });
    expect(typed.status).toBe(200);
    expect(await jobCount()).toBe(before + 1);
  });

  it.each([
    ['a rebinding Host', { host: () => `evil.example:${port}` }],
    ['a loopback Host with another port', { host: () => `127.0.0.1:${port + 1}` }],
    ['a loopback Host without a port', { host: () => '127.0.0.1' }],
    ['a look-alike Host', { host: () => `localhost.evil.example:${port}` }],
    ['a Host with an octet over 255', { host: () => `127.0.0.256:${port}` }],
    ['a Host with a leading-zero (octal) octet', { host: () => `127.0.0.01:${port}` }],
    ['an Origin of another site', { origin: () => 'http://evil.example' }],
    ['an Origin of another local port', { origin: () => `http://localhost:${port + 1}` }],
    ['the opaque Origin null', { origin: () => 'null' }],
    ['an https Origin of the same host', { origin: () => `https://127.0.0.1:${port}` }],
    ['Sec-Fetch-Site cross-site', { site: () => 'cross-site' }],
    ['Sec-Fetch-Site same-site (another port of localhost)', { site: () => 'same-site' }],
  ])('refuses %s with 403 FORBIDDEN: no job, no list', async (_name, spec) => {
    const s = spec as { host?: () => string; origin?: () => string; site?: () => string };
    const headers: Record<string, string> = { host: s.host?.() ?? `127.0.0.1:${port}` };
    if (s.origin) headers.origin = s.origin();
    if (s.site) headers['sec-fetch-site'] = s.site();
    const { body, type } = multipart(CSV);
    const before = await jobCount();
    const upload = await rawRequest(
      'POST',
      '/api/jobs',
      { ...headers, 'content-type': type, 'content-length': String(body.length) },
      body,
    );
    expect(upload.status).toBe(403);
    expect(upload.body.error).toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringMatching(/without auth/),
    });
    const list = await rawRequest('GET', '/trpc/jobs.list?input=%7B%7D', headers);
    expect(list.status).toBe(403);
    expect(list.body.error.data.code).toBe('FORBIDDEN');
    expect(list.body.error).not.toHaveProperty('result');
    const status = await rawRequest('GET', '/trpc/jobs.status?input=%7B%22jobId%22%3A%22x%22%7D', headers);
    expect(status.status).toBe(403);
    expect(await jobCount()).toBe(before);
  });

  it('refuses a request with no Host at all (HTTP/1.0 allows leaving it out)', async () => {
    const socket = net.connect(port, '127.0.0.1');
    socket.end('GET /trpc/jobs.list?input=%7B%7D HTTP/1.0\r\n\r\n');
    const chunks: Buffer[] = [];
    for await (const chunk of socket) chunks.push(chunk as Buffer);
    const answer = Buffer.concat(chunks).toString();
    expect(answer).toMatch(/^HTTP\/1\.[01] 403 /);
    expect(answer).toMatch(/Host header does not name a loopback address/);
  });

  it('with auth on (API_TOKENS) the guard is off: the token decides', async () => {
    const res = await postCsv(keyed.url, CSV, {
      headers: { authorization: 'Bearer local-mode-test-key-8c1e4f2a9b', origin: 'http://evil.example' },
    });
    expect(res.status).toBe(202);
  });
});

describe('auth-off mode from a real browser on another origin', () => {
  let browser: Browser;
  let evil: http.Server;
  let evilPort: number;

  /** The attacker's page: a form POST and fetch calls to the local Tally. */
  const attackPage = (target: string) => `<!doctype html><html><body>
<form id="f" method="post" enctype="multipart/form-data" action="${target}/api/jobs">
  <input type="file" name="file" id="file">
</form>
<script>
  window.attack = async (mode) => {
    const csv = ${JSON.stringify(CSV)};
    if (mode === 'form') {
      const dt = new DataTransfer();
      dt.items.add(new File([csv], 'evil.csv', { type: 'text/csv' }));
      document.getElementById('file').files = dt.files;
      document.getElementById('f').submit();
      return 'submitted';
    }
    const form = new FormData();
    form.append('file', new Blob([csv]), 'evil.csv');
    // no-cors: a "simple" request the browser sends without a preflight; its answer is
    // opaque to the page, but the job would exist.
    await fetch('${target}/api/jobs', { method: 'POST', body: form, mode: 'no-cors' });
    try {
      const r = await fetch('${target}/trpc/jobs.list?input=%7B%7D');
      return 'read ' + r.status;
    } catch (e) {
      return 'blocked';
    }
  };
</script></body></html>`;

  beforeAll(async () => {
    requireChromium();
    evil = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(attackPage(`http://127.0.0.1:${port}`));
    });
    evil.listen(0, '127.0.0.1');
    await once(evil, 'listening');
    evilPort = (evil.address() as AddressInfo).port;
    browser = await launchChromium([
      // Two host names of our own, both resolving to this machine: the attacker's site,
      // and a name an attacker's DNS rebinds to 127.0.0.1.
      '--host-resolver-rules=MAP evil.example 127.0.0.1, MAP rebind.example 127.0.0.1',
      // Chromium's own Private Network Access checks would block some of these requests
      // before they leave the browser; Tally must refuse them itself (older browsers,
      // other browsers, other PNA modes).
      '--disable-features=PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults,BlockInsecurePrivateNetworkRequests,LocalNetworkAccessChecks',
    ]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    evil?.close();
  });

  /** Every answer Tally gave the page, by path. */
  function tallyAnswers(page: Page): { path: string; status: number }[] {
    const seen: { path: string; status: number }[] = [];
    page.on('response', (r: Response) => {
      const url = new URL(r.url());
      if (url.port === String(port)) seen.push({ path: url.pathname, status: r.status() });
    });
    return seen;
  }

  it('positive control: the same calls from Tally’s own origin are served (the test can fail)', async () => {
    const page = await browser.newPage();
    const before = await jobCount();
    await page.goto(`${tally.url}/healthz`);
    const created = await page.evaluate(async (csv) => {
      const form = new FormData();
      form.append('file', new Blob([csv]), 'own.csv');
      const r = await fetch('/api/jobs', { method: 'POST', body: form });
      const list = await fetch('/trpc/jobs.list?input=%7B%7D');
      return [r.status, list.status];
    }, CSV);
    expect(created).toEqual([202, 200]);
    expect(await jobCount()).toBe(before + 1);
    await page.close();
  });

  it('a page on another origin: its form POST and fetch calls are refused (403) and make no job', async () => {
    const page = await browser.newPage();
    const answers = tallyAnswers(page);
    const before = await jobCount();
    await page.goto(`http://evil.example:${evilPort}/`);
    expect(await page.evaluate(() => (window as any).attack('fetch'))).toBe('blocked');
    const navigation = page.waitForNavigation();
    await page.evaluate(() => (window as any).attack('form'));
    const landed = await navigation;
    expect(landed?.status()).toBe(403);
    expect(await page.content()).toContain('FORBIDDEN');
    expect(await jobCount()).toBe(before);
    // Tally itself answered 403 to each (not only the browser holding the answer back).
    expect(answers.filter((a) => a.path === '/api/jobs').map((a) => a.status)).toEqual([403, 403]);
    expect(answers.filter((a) => a.path.startsWith('/trpc/')).every((a) => a.status === 403)).toBe(true);
    await page.close();
  });

  it('DNS rebinding: a page served as rebind.example:<port> cannot read or post (403)', async () => {
    const page = await browser.newPage();
    const before = await jobCount();
    const landing = await page.goto(`http://rebind.example:${port}/healthz`);
    expect(landing?.status()).toBe(403);
    // Same-origin for the browser (rebind.example:<port>), so nothing holds the answers back.
    const statuses = await page.evaluate(async (csv) => {
      const form = new FormData();
      form.append('file', new Blob([csv]), 'rebound.csv');
      const upload = await fetch('/api/jobs', { method: 'POST', body: form });
      const list = await fetch('/trpc/jobs.list?input=%7B%7D');
      return [upload.status, list.status, JSON.stringify(await list.json())];
    }, CSV);
    expect(statuses.slice(0, 2)).toEqual([403, 403]);
    expect(statuses[2]).toContain('FORBIDDEN');
    expect(await jobCount()).toBe(before);
    await page.close();
  });
});
