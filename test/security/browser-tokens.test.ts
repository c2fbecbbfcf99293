import { Writable } from 'node:stream';
import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBrowserToken } from '../../src/auth/create-browser-token.ts';
import { postCsv, trpcMutation, trpcQuery, waitForFinal } from '../support/http.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';

const OLD_KEY = { id: 'k2025', secret: 'f3b1c9a27d4e58f60a1b2c3d4e5f60718293a4b5c6d7e8f9' };
const NEW_KEY = { id: 'k2026', secret: '9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49382716a5b4c3d2e1' };
const UNKNOWN_SECRET = '0a1b2c3d4e5f60718293a4b5c6d7e8f9f3b1c9a27d4e58f6';
const API_KEY = 'backend-key-7f3a9c2e5b8d1f4a';
const CSV = 'date,amount,customer\n2024-01-05,10.00,x\n2024-02-05,5.50,y\n';

let tally: TestTally;
const logLines: string[] = [];
const presented: string[] = [];

const bearer = (token: string) => {
  presented.push(token);
  return { authorization: `Bearer ${token}` };
};

/** A token built by hand, to reach every refusal (createBrowserToken only makes good ones). */
async function craft(
  claims: {
    sub?: string;
    scope?: string;
    aud?: string;
    job?: string;
    exp?: number;
    nbf?: number;
    iat?: number;
  },
  key: { id: string; secret: string } = NEW_KEY,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const {
    sub = 'alice',
    scope = 'upload read',
    aud = 'tally',
    exp = now + 60,
    nbf = now,
    iat = now,
    job,
  } = claims;
  return new SignJWT({ scope, ...(job ? { job } : {}) })
    .setProtectedHeader({ alg: 'HS256', kid: key.id })
    .setSubject(sub)
    .setAudience(aud)
    .setIssuedAt(iat)
    .setNotBefore(nbf)
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(key.secret));
}

const mint = async (owner: string, scopes: ('upload' | 'read')[], jobId?: string) =>
  (
    await createBrowserToken({
      owner,
      scopes,
      ttlSeconds: 120,
      signingKey: `${NEW_KEY.id}:${NEW_KEY.secret},${OLD_KEY.id}:${OLD_KEY.secret}`,
      ...(jobId ? { jobId } : {}),
    })
  ).token;

beforeAll(async () => {
  tally = await startTestTally({
    env: {
      API_TOKENS: `backend:${API_KEY}`,
      TOKEN_SIGNING_KEYS: `${NEW_KEY.id}:${NEW_KEY.secret},${OLD_KEY.id}:${OLD_KEY.secret}`,
      LOG_LEVEL: 'debug',
    },
    logStream: new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString());
        done();
      },
    }),
  });
});
afterAll(() => tally?.stop());

async function expectRefused(headers: Record<string, string>, status: 401 | 403, message: RegExp) {
  const upload = await postCsv(tally.url, CSV, { headers });
  const list = await trpcQuery(tally.url, 'jobs.list', {}, headers);
  const code = status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN';
  expect(upload.status).toBe(status);
  expect(upload.body.error).toMatchObject({ code, message: expect.stringMatching(message) });
  expect(list.status).toBe(status);
  expect(list.body.error.data.code).toBe(code);
  expect(list.body.error.message).toMatch(message);
}

describe('browser tokens (JWT, HS256, verified without the database)', () => {
  it('a minted token uploads and reads its owner’s job; the static API key still works', async () => {
    const alice = bearer(await mint('alice', ['upload', 'read']));
    const upload = await postCsv(tally.url, CSV, { headers: alice });
    expect(upload.status).toBe(202);
    const final = await waitForFinal(tally.url, upload.body.jobId as string, alice);
    expect(final.state).toBe('completed');
    const result = await trpcQuery(tally.url, 'jobs.result', { jobId: upload.body.jobId }, alice);
    expect(result.body.result.data.currencies[0].totals.revenue).toBe(15.5);

    const backend = await postCsv(tally.url, CSV, { headers: bearer(API_KEY) });
    expect(backend.status).toBe(202);
  });

  it('a token signed with the older key still verifies (rotation)', async () => {
    const res = await trpcQuery(tally.url, 'jobs.list', {}, bearer(await craft({}, OLD_KEY)));
    expect(res.status).toBe(200);
  });

  it('one end user never sees another’s jobs (404)', async () => {
    const alice = bearer(await mint('alice', ['upload', 'read']));
    const bob = bearer(await mint('bob', ['upload', 'read']));
    const { body } = await postCsv(tally.url, CSV, { headers: alice });
    const jobId = body.jobId as string;
    expect((await trpcQuery(tally.url, 'jobs.status', { jobId }, bob)).status).toBe(404);
    expect((await trpcMutation(tally.url, 'jobs.cancel', { jobId }, bob)).status).toBe(404);
    const bobsList = await trpcQuery(tally.url, 'jobs.list', {}, bob);
    expect(bobsList.body.result.data.items.map((j: { id: string }) => j.id)).not.toContain(jobId);
    // Nor does the backend's own API key (another owner) see it.
    expect((await trpcQuery(tally.url, 'jobs.status', { jobId }, bearer(API_KEY))).status).toBe(404);
  });

  it('refuses an expired token (401)', async () => {
    const past = Math.floor(Date.now() / 1000) - 60;
    await expectRefused(bearer(await craft({ iat: past - 60, nbf: past - 60, exp: past })), 401, /expired/);
  });

  it('refuses a token that is not valid yet (401)', async () => {
    const later = Math.floor(Date.now() / 1000) + 120;
    await expectRefused(bearer(await craft({ nbf: later, exp: later + 60 })), 401, /not valid yet/);
  });

  it('refuses a forged token: payload changed after signing (401)', async () => {
    const [header, , signature] = (await craft({ sub: 'bob' })).split('.');
    const payload = Buffer.from(
      JSON.stringify({ sub: 'alice', aud: 'tally', scope: 'upload read', iat: 1, exp: 9999999999 }),
    ).toString('base64url');
    await expectRefused(bearer(`${header}.${payload}.${signature}`), 401, /signature does not verify/);
  });

  it('refuses a token signed with the wrong secret for a known key id (401)', async () => {
    await expectRefused(
      bearer(await craft({}, { id: NEW_KEY.id, secret: UNKNOWN_SECRET })),
      401,
      /signature does not verify/,
    );
  });

  it('refuses a token signed with an unknown key id (401)', async () => {
    await expectRefused(
      bearer(await craft({}, { id: 'k1999', secret: UNKNOWN_SECRET })),
      401,
      /key this server does not know/,
    );
  });

  it('refuses an unsigned ("alg": "none") token (401)', async () => {
    const none = new UnsecuredJWT({ scope: 'upload read' })
      .setSubject('alice')
      .setAudience('tally')
      .setIssuedAt()
      .setExpirationTime('1m')
      .encode();
    await expectRefused(bearer(none), 401, /HS256|malformed|not valid/);
  });

  it('refuses a token for another audience (401)', async () => {
    await expectRefused(bearer(await craft({ aud: 'billing' })), 401, /another audience/);
  });

  it('refuses a token whose owner is the reserved "local" (401)', async () => {
    await expectRefused(bearer(await craft({ sub: 'local' })), 401, /no valid owner/);
  });

  it('refuses the wrong scope with 403: read-only cannot upload, upload-only cannot read', async () => {
    const readOnly = bearer(await mint('alice', ['read']));
    const upload = await postCsv(tally.url, CSV, { headers: readOnly });
    expect(upload.status).toBe(403);
    expect(upload.body.error).toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/upload/) });
    expect((await trpcQuery(tally.url, 'jobs.list', {}, readOnly)).status).toBe(200);

    const uploadOnly = bearer(await mint('alice', ['upload']));
    expect((await postCsv(tally.url, CSV, { headers: uploadOnly })).status).toBe(202);
    const list = await trpcQuery(tally.url, 'jobs.list', {}, uploadOnly);
    expect(list.status).toBe(403);
    expect(list.body.error.data.code).toBe('FORBIDDEN');
  });

  it('a token bound to one job reads that job only (403 for others, for list and for upload)', async () => {
    const alice = bearer(await mint('alice', ['upload', 'read']));
    const first = (await postCsv(tally.url, CSV, { headers: alice })).body.jobId as string;
    const second = (await postCsv(tally.url, CSV, { headers: alice })).body.jobId as string;
    const bound = bearer(await mint('alice', ['read'], first));
    expect((await trpcQuery(tally.url, 'jobs.status', { jobId: first }, bound)).status).toBe(200);
    const other = await trpcQuery(tally.url, 'jobs.status', { jobId: second }, bound);
    expect(other.status).toBe(403);
    expect(other.body.error.message).toMatch(/another job/);
    expect((await trpcQuery(tally.url, 'jobs.list', {}, bound)).status).toBe(403);
    const boundUpload = bearer(await mint('alice', ['upload', 'read'], first));
    expect((await postCsv(tally.url, CSV, { headers: boundUpload })).status).toBe(403);
  });

  it('no token and no signing secret reaches the logs', () => {
    const all = logLines.join('');
    expect(all).toMatch(/request refused|UNAUTHORIZED|FORBIDDEN|incoming request/);
    expect(presented.length).toBeGreaterThan(10);
    const secrets = [NEW_KEY.secret, OLD_KEY.secret, UNKNOWN_SECRET, API_KEY];
    for (const secret of [...secrets, ...presented]) expect(all).not.toContain(secret);
    // Nor any token's signature part alone.
    for (const token of presented) {
      const signature = token.split('.')[2];
      if (signature) expect(all).not.toContain(signature);
    }
  });
});

describe('createBrowserToken', () => {
  const signingKey = `${NEW_KEY.id}:${NEW_KEY.secret}`;
  it('refuses a reserved or malformed owner, bad ttl and unknown scopes', async () => {
    await expect(
      createBrowserToken({ owner: 'local', scopes: ['read'], ttlSeconds: 60, signingKey }),
    ).rejects.toThrow(/owner/);
    await expect(
      createBrowserToken({ owner: 'a b', scopes: ['read'], ttlSeconds: 60, signingKey }),
    ).rejects.toThrow(/owner/);
    await expect(
      createBrowserToken({ owner: 'alice', scopes: ['read'], ttlSeconds: 0, signingKey }),
    ).rejects.toThrow(/ttlSeconds/);
    await expect(
      createBrowserToken({ owner: 'alice', scopes: ['admin' as 'read'], ttlSeconds: 60, signingKey }),
    ).rejects.toThrow(/scopes/);
    await expect(
      createBrowserToken({ owner: 'alice', scopes: ['read'], ttlSeconds: 60, signingKey: 'k:short' }),
    ).rejects.toThrow(/32 bytes/);
  });

  it('returns the expiry with the token, from the first key of a list', async () => {
    const before = Date.now();
    const { token, expiresAt } = await createBrowserToken({
      owner: 'alice',
      scopes: ['read'],
      ttlSeconds: 90,
      signingKey: `${signingKey},${OLD_KEY.id}:${OLD_KEY.secret}`,
    });
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { kid: string };
    expect(header.kid).toBe(NEW_KEY.id);
    const ms = Date.parse(expiresAt) - before;
    expect(ms).toBeGreaterThan(88_000);
    expect(ms).toBeLessThanOrEqual(90_000);
  });
});
