import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBrowserToken } from '../../src/auth/create-browser-token.ts';
import {
  createTallyClient,
  createTokenProvider,
  JobTimeoutError,
  TallyApiError,
} from '../../src/client/index.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';

const KEY = 'k1:5e2a9c7f1b3d8e6a4c0f2b9d7e5a3c1f8b6d4e2a0c9f7b5d';
const CSV = new File(['date,amount\n2024-01-05,10\n'], 'sales.csv', { type: 'text/csv' });

describe('createTokenProvider (fake clock)', () => {
  it('caches the token, refreshes before expiry (at most half the lifetime early), one refresh at a time', async () => {
    let clock = 0;
    let fetches = 0;
    let release: () => void = () => undefined;
    const provider = createTokenProvider(
      async () => {
        fetches += 1;
        if (fetches === 2) await new Promise<void>((r) => (release = r));
        return { token: `t${fetches}`, expiresAt: clock + 10_000 };
      },
      { now: () => clock },
    );
    expect(await provider()).toBe('t1');
    clock = 4_999;
    expect(await provider()).toBe('t1'); // 10 s token, refresh at 5 s (half, since 30 s > half)
    clock = 5_000;
    const a = provider();
    const b = provider();
    release();
    expect([await a, await b]).toEqual(['t2', 't2']);
    expect(fetches).toBe(2);
  });

  it('retries on the next call after a failed refresh', async () => {
    let fail = true;
    const provider = createTokenProvider(() =>
      fail
        ? Promise.reject(new Error('token route down'))
        : Promise.resolve({ token: 'ok', expiresAt: new Date(Date.now() + 60_000).toISOString() }),
    );
    await expect(provider()).rejects.toThrow(/token route down/);
    fail = false;
    expect(await provider()).toBe('ok');
  });
});

describe('a watch that outlives its token (real server, browser tokens)', () => {
  let api: TestTally;
  beforeAll(async () => {
    // API only: the job stays queued, so the watch runs its whole budget.
    api = await startTestTally({ role: 'api', env: { TOKEN_SIGNING_KEYS: KEY } });
  });
  afterAll(() => api?.stop());

  const mint = () =>
    createBrowserToken({ owner: 'alice', scopes: ['upload', 'read'], ttlSeconds: 2, signingKey: KEY });

  it('with a provider, a refreshed token keeps the watch going to maxPolls, then JobTimeoutError as always', async () => {
    let minted = 0;
    const tally = createTallyClient({
      baseUrl: api.url,
      token: createTokenProvider(async () => {
        minted += 1;
        return mint();
      }),
    });
    const { jobId } = await tally.uploadCsv(CSV);
    const started = Date.now();
    const error = await tally.pollJob(jobId, { pollIntervalMs: 500, maxPolls: 18 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobTimeoutError);
    expect((error as JobTimeoutError).polls).toBe(18);
    expect(Date.now() - started).toBeGreaterThan(8_000); // past the token's 2 s + 5 s clock tolerance
    expect(minted).toBeGreaterThanOrEqual(4);
  });

  it('with one fixed token the same watch is refused once the token expires (401)', async () => {
    const { token } = await mint();
    const tally = createTallyClient({ baseUrl: api.url, token });
    const { jobId } = await tally.uploadCsv(CSV);
    const error = await tally.pollJob(jobId, { pollIntervalMs: 500, maxPolls: 18 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TallyApiError);
    expect((error as TallyApiError).status).toBe(401);
    expect((error as TallyApiError).message).toMatch(/expired/);
  });
});
