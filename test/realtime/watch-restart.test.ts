import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBrowserToken } from '../../src/auth/create-browser-token.ts';
import { createTallyClient, type JobStatus } from '../../src/client/index.ts';
import { postCsv } from '../support/http.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';
import { openSse, watchUrl } from './sse.ts';

// A watch across a server restart, with a token provider that hands out a new browser
// token for every connection; and every log line of both servers checked for tokens.

const KEY = { id: 'k1', secret: '5d2c8e1f9a7b3c6d0e4f8a2b6c1d5e9f3a7b0c4d8e2f6a1b' };
const API_KEY = 'watch-backend-key-4c7e1a9f2b5d8e3a';
const ORIGIN = 'https://app.example.com';

let database: TestDatabase;
let port: number;
const logLines: string[] = [];
const presented: string[] = [];

const start = (): Promise<TestTally> =>
  startTestTally({
    role: 'api',
    database,
    env: {
      PORT: String(port),
      API_TOKENS: `backend:${API_KEY}`,
      TOKEN_SIGNING_KEYS: `${KEY.id}:${KEY.secret}`,
      CORS_ORIGINS: ORIGIN,
      LOG_LEVEL: 'debug',
    },
    keepAfterTest: true, // a restart in a test serves the tests after it; afterAll stops it
    logStream: new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString());
        done();
      },
    }),
  });

let minted = 0;
/** A fresh token per call (each with another lifetime, so no two are equal). */
const tokenProvider = async () => {
  minted += 1;
  const { token } = await createBrowserToken({
    owner: 'backend',
    scopes: ['read'],
    ttlSeconds: 60 + minted,
    signingKey: `${KEY.id}:${KEY.secret}`,
  });
  presented.push(token);
  return token;
};

let tally: TestTally;

beforeAll(async () => {
  database = await createTestDatabase();
  port = await freePort();
  tally = await start();
});
afterAll(async () => {
  await tally?.stop();
  await database?.drop();
});

describe('jobs.watch across a restart', () => {
  it('resumes after the last version on the restarted server, with a refreshed token, none in any log', async () => {
    presented.push(API_KEY);
    const upload = await postCsv(tally.url, 'date,amount\n2024-01-01,1\n', {
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    expect(upload.status).toBe(202);
    const jobId = upload.body.jobId as string;
    const update = (set: string) => database.sql.query(`update jobs set ${set} where id = $1`, [jobId]);

    const heard: JobStatus[] = [];
    const waiters: { version: number; resolve: () => void }[] = [];
    const heardVersion = (version: number) =>
      new Promise<void>((resolve) => {
        if (heard.some((s) => s.version >= version)) resolve();
        else waiters.push({ version, resolve });
      });
    const client = createTallyClient({ baseUrl: tally.url, token: tokenProvider });
    const watched = client.watchJob(jobId, {
      deadlineMs: 60_000,
      onProgress: (s) => {
        heard.push(s);
        for (const w of waiters) if (s.version >= w.version) w.resolve();
      },
    });
    await heardVersion(1);
    await update("state = 'running', started_at = now(), rows_processed = 10"); // version 2
    await heardVersion(2);

    // A raw stream too: it must be ended by the drain with a retryable 503, not cut.
    const raw = await openSse(watchUrl(tally.url, { jobId }), { authorization: `Bearer ${API_KEY}` });
    expect((await raw.nextData())?.event).toBe('connected');
    expect((await raw.nextData())?.id).toBe('2');

    const tokensBefore = minted;
    await tally.stop(); // the database stays: it is the test's
    const drained = await raw.nextData();
    expect(drained?.event).toBe('serialized-error');
    expect(JSON.parse(drained!.data)).toMatchObject({
      data: { code: 'SERVICE_UNAVAILABLE', httpStatus: 503 },
    });
    expect(await raw.next()).toBeUndefined();

    // Changes while no server runs: the client must hear the newest of them, once.
    await update('rows_processed = 20'); // version 3
    await update('rows_processed = 30'); // version 4
    tally = await start();
    await heardVersion(4);
    await update("state = 'completed', finished_at = now()"); // version 5

    const final = await watched;
    expect(final).toMatchObject({ state: 'completed', version: 5 });
    const versions = heard.map((s) => s.version);
    expect(versions.slice(0, 2)).toEqual([1, 2]);
    expect(versions).toContain(4);
    expect(new Set(versions).size).toBe(versions.length);
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);
    expect(minted).toBeGreaterThan(tokensBefore); // each reconnect asked the provider again

    // A refused token is not logged either.
    const forged = `${presented.at(-1)!.slice(0, -4)}AAAA`;
    presented.push(forged);
    const refused = createTallyClient({ baseUrl: tally.url, token: forged });
    await expect(refused.watchJob(jobId)).rejects.toMatchObject({ status: 401, code: 'UNAUTHORIZED' });

    const log = logLines.join('');
    expect(log).toMatch(/jobs\.watch/); // the streams were logged (so the check below means something)
    for (const token of presented) {
      expect(log).not.toContain(token);
      expect(log).not.toContain(token.split('.')[2] ?? token); // nor a JWT's signature alone
    }
  });

  it('answers a cross-origin preflight for the stream from a listed origin', async () => {
    const res = await fetch(`${tally.url}/trpc/jobs.watch?input=%7B%7D`, {
      method: 'OPTIONS',
      headers: {
        origin: ORIGIN,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(res.headers.get('access-control-allow-headers')).toMatch(/authorization/);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
