import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trpcQuery } from '../support/http.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';

// With `jobs` locked and more requests queued than the pool has
// connections, requests end with the contract's 503 after DB_STATEMENT_TIMEOUT_MS instead
// of waiting forever, and /healthz — on its own connection — still says the database is up.

const STATEMENT_TIMEOUT_MS = 1000;
let tally: TestTally;
let sql: pg.Pool;

beforeAll(async () => {
  tally = await startTestTally({
    role: 'api',
    env: { DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS), DB_POOL_MAX: '2' },
  });
  sql = tally.database.sql; // closed by tally.stop()
});
afterAll(async () => {
  await tally?.stop();
});

describe('a locked jobs table', () => {
  it('fails requests with 503 after the statement timeout; /healthz stays 200', async () => {
    const locker = await sql.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table jobs in access exclusive mode');

      const started = performance.now();
      // 14 requests on a pool of 2: two wait on the lock, the rest for a connection.
      const requests = Array.from({ length: 14 }, () => trpcQuery(tally.url, 'jobs.list', {}));
      const health = await fetch(`${tally.url}/healthz`, { signal: AbortSignal.timeout(3000) });
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ ok: true });

      const answers = await Promise.all(requests);
      const tookMs = performance.now() - started;
      for (const a of answers) {
        expect(a.status).toBe(503);
        expect(a.body.error).toMatchObject({
          message: expect.any(String),
          data: { code: 'SERVICE_UNAVAILABLE', httpStatus: 503 },
        });
        expect(a.body.error.message).not.toMatch(/canceling statement|57014/);
      }
      // Bounded: each waits for a connection (≤ 5 s) plus one statement timeout, not forever.
      expect(tookMs).toBeLessThan(5000 + 2 * STATEMENT_TIMEOUT_MS + 3000);
    } finally {
      await locker.query('rollback');
      locker.release();
    }
    // And once the lock is gone, requests are served again.
    expect((await trpcQuery(tally.url, 'jobs.list', {})).status).toBe(200);
  });
});
