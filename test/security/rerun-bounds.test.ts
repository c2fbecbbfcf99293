import { afterEach, describe, expect, it } from 'vitest';
import { createBrowserToken } from '../../src/auth/create-browser-token.ts';
import { postCsv, trpcMutation } from '../support/http.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';
import { waitUntil } from '../support/wait-until.ts';

// jobs.rerun makes a job from stored bytes without sending them: bounded as uploads are.
// API-only servers: no worker runs, so re-runs stay queued ("in flight") until cancelled.

const ALICE = 'alice-token-0123456789abcdef';
const BOB = 'bob-token-0123456789abcdef00';
const asAlice = { authorization: `Bearer ${ALICE}` };
const asBob = { authorization: `Bearer ${BOB}` };
const SIGNING_KEY = 'k1:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a6978';
const CSV = 'date,amount\n2024-01-05,10.00\n2024-02-05,5.50\n';

const running: TestTally[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((t) => t.stop()));
});

async function api(env: Record<string, string>) {
  const t = await startTestTally({
    role: 'api',
    env: { API_TOKENS: `alice:${ALICE},bob:${BOB}`, TOKEN_SIGNING_KEYS: SIGNING_KEY, ...env },
  });
  running.push(t);
  return t;
}

/** jobs.rerun over HTTP, with the response headers (Retry-After). */
async function rerun(tally: TestTally, jobId: string, headers: Record<string, string> = asAlice) {
  const res = await fetch(`${tally.url}/trpc/jobs.rerun`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ jobId, options: { dateFormat: 'DMY' } }),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
}

async function upload(tally: TestTally, headers = asAlice): Promise<string> {
  const res = await postCsv(tally.url, CSV, { headers });
  expect(res.status).toBe(202);
  return res.body.jobId as string;
}

const jobsOf = async (tally: TestTally, owner: string) =>
  Number(
    (await tally.database.sql.query('select count(*) from jobs where owner = $1', [owner])).rows[0].count,
  );

describe('jobs.rerun bounds', () => {
  it('counts against the owner’s upload rate: uploads and re-runs share one count', async () => {
    const tally = await api({ UPLOAD_RATE_LIMIT_PER_MINUTE: '3', RERUN_MAX_IN_FLIGHT: '10' });
    const jobId = await upload(tally); // 1
    expect((await rerun(tally, jobId)).status).toBe(200); // 2
    expect((await rerun(tally, jobId)).status).toBe(200); // 3
    const refused = await rerun(tally, jobId);
    expect(refused).toMatchObject({ status: 429, body: { error: { data: { code: 'RATE_LIMITED' } } } });
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    // The same count refuses the next upload…
    const uploadRefused = await postCsv(tally.url, CSV, { headers: asAlice });
    expect(uploadRefused.status).toBe(429);
    expect(uploadRefused.body.error.code).toBe('RATE_LIMITED');
    // …for this owner only.
    await upload(tally, asBob);
    expect(await jobsOf(tally, 'alice')).toBe(3);
  });

  it('caps the owner’s re-runs in flight, also when they arrive together; 429 with Retry-After', async () => {
    const tally = await api({ UPLOAD_RATE_LIMIT_PER_MINUTE: '100', RERUN_MAX_IN_FLIGHT: '2' });
    const jobId = await upload(tally);
    const answers = await Promise.all(Array.from({ length: 6 }, () => rerun(tally, jobId)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(2);
    const refused = answers.filter((a) => a.status === 429);
    expect(refused).toHaveLength(4);
    for (const r of refused) {
      expect(r.body.error.data).toMatchObject({ code: 'RATE_LIMITED', details: { maxInFlight: 2 } });
      expect(Number(r.retryAfter)).toBeGreaterThan(0);
    }
    const { rows } = await tally.database.sql.query(
      `select count(*)::int as n from jobs where owner = 'alice' and rerun_of is not null`,
    );
    expect(rows[0].n).toBe(2);
    // Per owner: Bob re-runs his own job.
    expect((await rerun(tally, await upload(tally, asBob), asBob)).status).toBe(200);
    // A re-run that ends frees its place.
    const first = answers.find((a) => a.status === 200)!.body.result.data.jobId as string;
    expect((await trpcMutation(tally.url, 'jobs.cancel', { jobId: first }, asAlice)).status).toBe(200);
    expect((await rerun(tally, jobId)).status).toBe(200);
  });

  it('never lets a job-bound browser token create a job, whatever its scopes', async () => {
    const tally = await api({ RERUN_MAX_IN_FLIGHT: '10' });
    const jobId = await upload(tally);
    const before = await jobsOf(tally, 'alice');
    for (const scopes of [['upload', 'read'], ['upload'], ['read']] as const) {
      const { token } = await createBrowserToken({
        owner: 'alice',
        scopes,
        ttlSeconds: 120,
        jobId,
        signingKey: SIGNING_KEY,
      });
      const res = await rerun(tally, jobId, { authorization: `Bearer ${token}` });
      expect(res.status, scopes.join(' ')).toBe(403);
      expect(res.body.error.data.code).toBe('FORBIDDEN');
    }
    expect(await jobsOf(tally, 'alice')).toBe(before);
    // The same owner with an unbound token may.
    const { token } = await createBrowserToken({
      owner: 'alice',
      scopes: ['upload'],
      ttlSeconds: 120,
      signingKey: SIGNING_KEY,
    });
    expect((await rerun(tally, jobId, { authorization: `Bearer ${token}` })).status).toBe(200);
  });

  it('runs its database work on the upload pool, not on the requests’ pool', async () => {
    const tally = await api({ RERUN_MAX_IN_FLIGHT: '10' });
    const jobId = await upload(tally);
    const sql = tally.database.sql;
    const locker = await sql.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table job_file_chunks in share mode'); // the copy waits here
      const pending = rerun(tally, jobId);
      const waiting = await waitUntil(
        async () => {
          const { rows } = await sql.query(
            `select application_name from pg_stat_activity
              where datname = current_database() and wait_event_type = 'Lock'`,
          );
          return rows.length > 0 ? rows.map((r) => r.application_name as string) : undefined;
        },
        { what: 'the re-run to wait on the lock' },
      );
      // createDb names the upload pool `tally-<role>`; the requests' pool is `tally-requests`.
      expect(waiting).toEqual(['tally-api']);
      await locker.query('commit');
      expect((await pending).status).toBe(200);
    } finally {
      await locker.query('rollback').catch(() => undefined); // a no-op once committed
      locker.release();
    }
  });
});
