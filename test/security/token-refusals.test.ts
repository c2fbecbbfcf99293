import { generateKeyPair, SignJWT, UnsecuredJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBrowserToken } from '../../src/auth/create-browser-token.ts';
import { CLOCK_TOLERANCE_SECONDS, createBrowserTokenVerifier } from '../../src/auth/verify-browser-token.ts';
import { postCsv, trpcMutation, trpcQuery, waitForFinal } from '../support/http.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';

/**
 * Every refusal of a browser token (docs/reference.md, "Security"), each asserted by the message only its own
 * branch writes, so a refusal that happens for another reason (the API-key branch, a
 * malformed token) fails the test. Over real HTTP, on both the upload route and tRPC.
 */
const KEY = { id: 'k2026', secret: '7d1e9a3c5b8f2e4d6a0c1b3e5f7a9c2d4e6f8a0b1c3d5e7f' };
const OTHER_SECRET = '2f4e6d8c0b1a3f5e7d9c2b4a6f8e0d1c3b5a7f9e2d4c6b8a';
const AUDIENCE = 'tally-staging';
const ISSUER = 'https://backend.example';
const CSV = 'date,amount\n2024-01-05,10.00\n2024-02-05,5.50\n';

let tally: TestTally;
/** A second server that sets no TOKEN_ISSUER and the default audience. */
let plain: TestTally;

beforeAll(async () => {
  [tally, plain] = await Promise.all([
    startTestTally({
      env: {
        TOKEN_SIGNING_KEYS: `${KEY.id}:${KEY.secret}`,
        TOKEN_AUDIENCE: AUDIENCE,
        TOKEN_ISSUER: ISSUER,
      },
    }),
    startTestTally({ env: { TOKEN_SIGNING_KEYS: `${KEY.id}:${KEY.secret}` } }),
  ]);
});
afterAll(() => Promise.all([tally?.stop(), plain?.stop()]));

const now = () => Math.floor(Date.now() / 1000);

interface Craft {
  claims?: JWTPayload;
  /** Leave these standard claims out. */
  omit?: string[];
  alg?: string;
  kid?: string;
  secret?: string;
}

/** A token built by hand: every claim and header as given, HS* signed with `secret`. */
async function craft(opts: Craft = {}): Promise<string> {
  const t = now();
  const claims: JWTPayload = {
    sub: 'alice',
    scope: 'upload read',
    aud: AUDIENCE,
    iss: ISSUER,
    iat: t,
    nbf: t,
    exp: t + 60,
    ...opts.claims,
  };
  for (const k of opts.omit ?? []) delete claims[k];
  return new SignJWT(claims)
    .setProtectedHeader({ alg: opts.alg ?? 'HS256', kid: opts.kid ?? KEY.id })
    .sign(new TextEncoder().encode(opts.secret ?? KEY.secret));
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Refused with 401 and this message on the upload route and on tRPC alike. */
async function expect401(token: string, message: RegExp, on: TestTally = tally) {
  const upload = await postCsv(on.url, CSV, { headers: bearer(token) });
  expect(upload.status).toBe(401);
  expect(upload.body.error).toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringMatching(message) });
  const list = await trpcQuery(on.url, 'jobs.list', {}, bearer(token));
  expect(list.status).toBe(401);
  expect(list.body.error.data.code).toBe('UNAUTHORIZED');
  expect(list.body.error.message).toMatch(message);
}

async function expectAccepted(token: string, on: TestTally = tally) {
  const list = await trpcQuery(on.url, 'jobs.list', {}, bearer(token));
  expect(list.status, JSON.stringify(list.body)).toBe(200);
}

const PINNED = /must be signed with HS256/;

describe('the algorithm is pinned to HS256', () => {
  it('an unsigned token (alg none) reaches the pinning, not the API-key branch', async () => {
    const none = new UnsecuredJWT({ scope: 'upload read', iss: ISSUER })
      .setSubject('alice')
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('1m')
      .encode();
    expect(none.endsWith('.')).toBe(true); // an empty signature: what the API-key branch used to refuse
    await expect401(none, PINNED);
  });

  it('HS512, signed with the right key, is refused', async () => {
    await expect401(await craft({ alg: 'HS512' }), PINNED);
  });

  it('RS256 (a key pair the attacker holds) is refused', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const t = now();
    const rs = await new SignJWT({ scope: 'upload read', iss: ISSUER })
      .setProtectedHeader({ alg: 'RS256', kid: KEY.id })
      .setSubject('alice')
      .setAudience(AUDIENCE)
      .setIssuedAt(t)
      .setExpirationTime(t + 60)
      .sign(privateKey);
    await expect401(rs, PINNED);
  });

  it('HS256 with the same claims is accepted (the refusals above are about the algorithm)', async () => {
    await expectAccepted(await craft());
  });
});

describe('audience and issuer', () => {
  it('TOKEN_AUDIENCE: a token for the default "tally" (another deployment) is refused', async () => {
    await expect401(await craft({ claims: { aud: 'tally' } }), /another audience/);
    await expectAccepted(await craft({ claims: { aud: 'tally' }, omit: ['iss'] }), plain);
    await expect401(await craft({ claims: { aud: AUDIENCE }, omit: ['iss'] }), /another audience/, plain);
  });

  it('a token without aud is refused', async () => {
    await expect401(await craft({ omit: ['aud'] }), /another audience|"aud"/);
  });

  it('TOKEN_ISSUER set: a wrong or missing iss is refused', async () => {
    await expect401(
      await craft({ claims: { iss: 'https://evil.example' } }),
      /issuer this server does not accept/,
    );
    await expect401(await craft({ omit: ['iss'] }), /issuer this server does not accept/);
  });

  it('createBrowserToken mints for a configured audience and issuer', async () => {
    const { token } = await createBrowserToken({
      owner: 'alice',
      scopes: ['read'],
      ttlSeconds: 60,
      signingKey: KEY,
      audience: AUDIENCE,
      issuer: ISSUER,
    });
    await expectAccepted(token);
  });
});

describe('time', () => {
  it('expired, and not yet valid, are refused', async () => {
    const t = now();
    await expect401(await craft({ claims: { iat: t - 120, nbf: t - 120, exp: t - 60 } }), /expired/);
    await expect401(await craft({ claims: { nbf: t + 120, exp: t + 180 } }), /not valid yet/);
    await expect401(await craft({ claims: { iat: t + 120, nbf: t, exp: t + 180 } }), /not valid yet/);
  });

  it('a lifetime over 24 h is refused whatever exp says; 24 h is accepted', async () => {
    const t = now();
    await expect401(await craft({ claims: { iat: t, exp: t + 25 * 3600 } }), /lifetime over 24 h/);
    await expect401(
      await craft({ claims: { iat: t - 3600, nbf: t - 3600, exp: t + 365 * 86400 } }),
      /lifetime over 24 h/,
    );
    await expectAccepted(await craft({ claims: { iat: t, exp: t + 24 * 3600 } }));
  });

  it('clock skew over HTTP: within the tolerance accepted, beyond it refused', async () => {
    const t = now();
    // 2–3 s inside and outside the 5 s edge, so a slow request cannot cross it.
    await expectAccepted(await craft({ claims: { iat: t - 60, nbf: t - 60, exp: t - 2 } }));
    await expect401(await craft({ claims: { iat: t - 60, nbf: t - 60, exp: t - 8 } }), /expired/);
    await expectAccepted(await craft({ claims: { nbf: t + 2, exp: t + 60 } }));
    await expect401(await craft({ claims: { nbf: t + 8, exp: t + 60 } }), /not valid yet/);
  });

  it('clock skew at the exact edge, on a fixed clock: 5 s both sides', async () => {
    const at = 2_000_000_000;
    const verify = createBrowserTokenVerifier([KEY], {
      audience: AUDIENCE,
      issuer: ISSUER,
      now: () => new Date(at * 1000),
    });
    const tol = CLOCK_TOLERANCE_SECONDS;
    expect(tol).toBe(5);
    const token = (claims: JWTPayload) => craft({ claims: { iat: at - 100, nbf: at - 100, ...claims } });
    // exp: valid while exp > now − 5.
    await expect(verify(await token({ exp: at - tol + 1 }))).resolves.toMatchObject({ owner: 'alice' });
    await expect(verify(await token({ exp: at - tol }))).rejects.toThrow(/expired/);
    // nbf: valid while nbf ≤ now + 5.
    await expect(verify(await token({ nbf: at + tol, exp: at + 60 }))).resolves.toMatchObject({
      owner: 'alice',
    });
    await expect(verify(await token({ nbf: at + tol + 1, exp: at + 60 }))).rejects.toThrow(/not valid yet/);
  });
});

describe('keys and signatures', () => {
  it('an unknown kid is refused', async () => {
    await expect401(await craft({ kid: 'k1999', secret: OTHER_SECRET }), /key this server does not know/);
  });

  it('a forged signature (right kid, wrong secret) is refused', async () => {
    await expect401(await craft({ secret: OTHER_SECRET }), /signature does not verify/);
  });

  it('a payload changed after signing is refused', async () => {
    const [header, , signature] = (await craft({ claims: { sub: 'bob' } })).split('.');
    const payload = Buffer.from(
      JSON.stringify({
        sub: 'alice',
        aud: AUDIENCE,
        iss: ISSUER,
        scope: 'upload read',
        iat: now(),
        exp: now() + 60,
      }),
    ).toString('base64url');
    await expect401(`${header}.${payload}.${signature}`, /signature does not verify/);
  });
});

describe('scopes and job binding (403)', () => {
  let jobId: string;
  let otherJobId: string;
  const alice = async (scope: string, job?: string) =>
    bearer(await craft({ claims: { scope, ...(job ? { job } : {}) } }));

  beforeAll(async () => {
    const full = await alice('upload read');
    jobId = (await postCsv(tally.url, CSV, { headers: full })).body.jobId as string;
    otherJobId = (await postCsv(tally.url, CSV, { headers: full })).body.jobId as string;
    await waitForFinal(tally.url, jobId, full);
    await waitForFinal(tally.url, otherJobId, full);
  });

  const expect403 = (res: { status: number; body: any }, message: RegExp) => {
    expect(res.status, JSON.stringify(res.body)).toBe(403);
    expect(res.body.error.data.code).toBe('FORBIDDEN');
    expect(res.body.error.message).toMatch(message);
  };

  it('a read-only token cannot cancel or re-run', async () => {
    const readOnly = await alice('read');
    expect403(await trpcMutation(tally.url, 'jobs.cancel', { jobId }, readOnly), /may not upload or cancel/);
    expect403(await trpcMutation(tally.url, 'jobs.rerun', { jobId }, readOnly), /may not upload or cancel/);
    // The same token reads.
    expect((await trpcQuery(tally.url, 'jobs.status', { jobId }, readOnly)).status).toBe(200);
  });

  it('a job-bound token reads its job (status, result) and nothing else', async () => {
    const bound = await alice('read', jobId);
    expect((await trpcQuery(tally.url, 'jobs.status', { jobId }, bound)).status).toBe(200);
    expect((await trpcQuery(tally.url, 'jobs.result', { jobId }, bound)).status).toBe(200);
    expect403(await trpcQuery(tally.url, 'jobs.result', { jobId: otherJobId }, bound), /another job/);
    expect403(await trpcQuery(tally.url, 'jobs.status', { jobId: otherJobId }, bound), /another job/);
    expect403(await trpcQuery(tally.url, 'jobs.list', {}, bound), /bound to one job/);
  });

  it('a job-bound token with the upload scope still cannot cancel, re-run or upload (read-only on its job)', async () => {
    const bound = await alice('upload read', jobId);
    const jobsOf = async () =>
      ((await trpcQuery(tally.url, 'jobs.list', {}, await alice('read'))).body.result.data.items as unknown[])
        .length;
    const before = await jobsOf();
    expect403(
      await trpcMutation(tally.url, 'jobs.cancel', { jobId }, bound),
      /bound to one job and may only read/,
    );
    expect403(
      await trpcMutation(tally.url, 'jobs.rerun', { jobId }, bound),
      /bound to one job and may only read/,
    );
    expect403(
      await trpcMutation(tally.url, 'jobs.rerun', { jobId: otherJobId }, bound),
      /bound to one job and may only read/,
    );
    const upload = await postCsv(tally.url, CSV, { headers: bound });
    expect(upload.status).toBe(403);
    expect(upload.body.error.code).toBe('FORBIDDEN');
    expect(await jobsOf()).toBe(before); // no job was made by any of these
  });

  it('403 parity: the fast status route and tRPC answer a refused status call alike', async () => {
    const cases = [
      await alice('read', otherJobId), // bound to another job
      await alice('upload'), // lacks the read scope
    ];
    for (const headers of cases) {
      const input = { jobId };
      // The plain form is answered by the fast route; the batch form by tRPC itself.
      const fast = await fetch(
        `${tally.url}/trpc/jobs.status?input=${encodeURIComponent(JSON.stringify(input))}`,
        {
          headers,
        },
      );
      const batch = await fetch(
        `${tally.url}/trpc/jobs.status?batch=1&input=${encodeURIComponent(JSON.stringify({ 0: input }))}`,
        { headers },
      );
      const fastBody = await fast.json();
      const batchBody = ((await batch.json()) as any[])[0];
      expect(fast.status).toBe(403);
      expect(batch.status).toBe(403);
      expect(fast.headers.get('content-type')).toBe(batch.headers.get('content-type'));
      expect(fastBody).toEqual(batchBody);
    }
  });
});
