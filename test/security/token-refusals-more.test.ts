import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postCsv, trpcQuery } from '../support/http.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';

/**
 * The refusals token-refusals.test.ts does not reach: the Authorization header itself, the
 * API-key branch, a token that is JWT-shaped but not a JWT, missing required claims, a
 * token issued over 24 h ago, and the claims read after the signature (scope, job). Each
 * is asserted by the message only its own branch writes, over real HTTP on the upload
 * route and on tRPC, so a token refused for another reason fails the test.
 */
const KEY = { id: 'k2026', secret: '5c7e9a1b3d5f7e9c1a3b5d7f9e1c3a5b7d9f1e3c5a7b9d1f' };
const API_KEY = 'server-key-7f3e9c1a5b8d2e4f6a0c';
const CSV = 'date,amount\n2024-01-05,10.00\n';
const HOUR = 3600;

let tally: TestTally;
/** API keys only: a JWT-shaped token has no verifier to go to. */
let keysOnly: TestTally;

beforeAll(async () => {
  [tally, keysOnly] = await Promise.all([
    startTestTally({
      env: { TOKEN_SIGNING_KEYS: `${KEY.id}:${KEY.secret}`, API_TOKENS: `server:${API_KEY}` },
    }),
    startTestTally({ env: { API_TOKENS: `server:${API_KEY}` } }),
  ]);
});
afterAll(() => Promise.all([tally?.stop(), keysOnly?.stop()]));

const now = () => Math.floor(Date.now() / 1000);

/** An HS256 token with the right key: every claim as given (typed or not), `omit` left out. */
async function craft(claims: Record<string, unknown> = {}, omit: string[] = []): Promise<string> {
  const t = now();
  const all: Record<string, unknown> = {
    sub: 'alice',
    scope: 'upload read',
    aud: 'tally',
    iat: t,
    exp: t + 60,
    ...claims,
  };
  for (const k of omit) delete all[k];
  return new SignJWT(all)
    .setProtectedHeader({ alg: 'HS256', kid: KEY.id })
    .sign(new TextEncoder().encode(KEY.secret));
}

/** Refused with this status and message on the upload route and on tRPC alike. */
async function expectRefused(
  headers: Record<string, string>,
  status: 401 | 403,
  message: RegExp,
  on: TestTally = tally,
): Promise<void> {
  const code = status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN';
  const upload = await postCsv(on.url, CSV, { headers });
  expect(upload.status, JSON.stringify(upload.body)).toBe(status);
  expect(upload.body.error).toMatchObject({ code, message: expect.stringMatching(message) });
  const list = await trpcQuery(on.url, 'jobs.list', {}, headers);
  expect(list.status, JSON.stringify(list.body)).toBe(status);
  expect(list.body.error.data.code).toBe(code);
  expect(list.body.error.message).toMatch(message);
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('the Authorization header and the API-key branch', () => {
  it('no header, or a scheme other than Bearer, is told how to send a token', async () => {
    await expectRefused({}, 401, /Send an API key or a browser token/);
    await expectRefused({ authorization: `Basic ${API_KEY}` }, 401, /Send an API key or a browser token/);
    await expectRefused({ authorization: 'Bearer ' }, 401, /Send an API key or a browser token/);
  });

  it('an unknown key that is not JWT-shaped is refused by the API-key branch', async () => {
    await expectRefused(bearer('not-a-real-key-3b1e'), 401, /^The API token is not valid\.$/);
  });

  it('with no signing keys, a JWT-shaped token is refused by the API-key branch', async () => {
    await expectRefused(bearer(await craft()), 401, /^The API token is not valid\.$/, keysOnly);
  });

  it('positive control: the API key and a well-formed token are served', async () => {
    for (const token of [API_KEY, await craft()]) {
      const list = await trpcQuery(tally.url, 'jobs.list', {}, bearer(token));
      expect(list.status, JSON.stringify(list.body)).toBe(200);
    }
  });
});

describe('tokens that are not what they claim to be', () => {
  it('JWT-shaped but not a JWT (its header is not JSON) is malformed', async () => {
    const header = Buffer.from('{"alg":"HS256"').toString('base64url'); // no closing brace
    await expectRefused(bearer(`${header}.e30.c2ln`), 401, /^The token is malformed\.$/);
  });

  it.each(['sub', 'exp', 'iat'])('a token without %s is refused for that claim', async (claim) => {
    await expectRefused(bearer(await craft({}, [claim])), 401, new RegExp(`lacks a valid "${claim}" claim`));
  });

  it('a time claim that is not a number is refused for that claim, not for the clock', async () => {
    const t = now();
    await expectRefused(bearer(await craft({ nbf: 'yesterday' })), 401, /lacks a valid "nbf" claim/);
    await expectRefused(bearer(await craft({ iat: String(t) })), 401, /lacks a valid "iat" claim/);
  });

  it('a token issued over 24 h ago is refused even while exp is ahead', async () => {
    const t = now();
    const old = await craft({ iat: t - 25 * HOUR, exp: t + 60 });
    await expectRefused(bearer(old), 401, /issued more than 24 h ago \(iat\)/);
  });
});

describe('claims read after the signature verifies', () => {
  it('no known scope: refused, naming the scopes there are', async () => {
    await expectRefused(
      bearer(await craft({ scope: 'admin write' })),
      401,
      /has no scope \(expected some of/,
    );
    await expectRefused(bearer(await craft({}, ['scope'])), 401, /has no scope/);
  });

  it('a job claim that is not a string', async () => {
    await expectRefused(bearer(await craft({ job: 42 })), 401, /"job" claim is not a job id/);
  });

  it('a job-bound token listing jobs, and an upload-only token reading, are told why (403)', async () => {
    const bound = bearer(await craft({ scope: 'read', job: '00000000-0000-4000-8000-000000000000' }));
    const list = await trpcQuery(tally.url, 'jobs.list', {}, bound);
    expect(list.status).toBe(403);
    expect(list.body.error.message).toMatch(/bound to one job; it cannot upload or list jobs/);
    const uploadOnly = bearer(await craft({ scope: 'upload' }));
    const read = await trpcQuery(tally.url, 'jobs.list', {}, uploadOnly);
    expect(read.status).toBe(403);
    expect(read.body.error.message).toMatch(/may not read jobs \(its scopes: upload\)/);
  });
});
