import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ANALYSIS_QUEUE } from '../../src/queue/boss.ts';
import { claimLockKey } from '../../src/queue/capped-claims.ts';
import { postCsv } from '../support/http.ts';
import { generateCsv } from '../support/sources.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';
import { waitUntil } from '../support/wait-until.ts';
import { createUpload, patchUpload } from '../resumable/tus-http.ts';

// Fair share: owner A's backlog must not hold every worker while owner B's one job
// waits. Every job stops just before its result (the beforeFinish hook) until the test lets it
// go, so "which job starts next" is decided by the claim order alone, not by timing.

const ALICE = randomBytes(16).toString('hex');
const BOB = randomBytes(16).toString('hex');
const asAlice = { authorization: `Bearer ${ALICE}` };
const asBob = { authorization: `Bearer ${BOB}` };

/** Jobs held in beforeFinish, in the order they got there, until released. */
function gate() {
  const held: string[] = [];
  const releases = new Map<string, () => void>();
  return {
    held,
    hook: (jobId: string) =>
      new Promise<void>((resolve) => {
        held.push(jobId);
        releases.set(jobId, resolve);
      }),
    release(jobId: string) {
      releases.get(jobId)?.();
      releases.delete(jobId);
    },
    releaseAll() {
      for (const r of releases.values()) r();
      releases.clear();
    },
  };
}

let tally: TestTally | undefined;
let open: ReturnType<typeof gate> | undefined;
afterEach(async () => {
  open?.releaseAll();
  await tally?.stop();
  tally = undefined;
});

async function start(env: Record<string, string> = {}) {
  open = gate();
  tally = await startTestTally({
    env: {
      API_TOKENS: `alice:${ALICE},bob:${BOB}`,
      UPLOAD_RATE_LIMIT_PER_MINUTE: '1000',
      WORKER_CONCURRENCY: '2',
      SHUTDOWN_GRACE_MS: '1000',
      ...env,
    },
    workerHooks: { beforeFinish: open.hook },
  });
  return { tally, gate: open };
}

const { csv } = generateCsv(50);
/**
 * Above the size a claim takes several of at once (src/db/jobs/small-batch-claim.ts: files
 * whose bytes come back with the claim, 64 KiB): each claim takes one such job.
 */
const { csv: csvOneAClaim } = generateCsv(3_000);
const upload = async (url: string, headers: Record<string, string>, file = csv) => {
  const res = await postCsv(url, file, { headers });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.jobId as string;
};
/** The same file through /api/uploads (tus): one POST, one PATCH of every byte. */
const uploadResumable = async (url: string, headers: Record<string, string>) => {
  const bytes = new TextEncoder().encode(csv);
  const created = await createUpload(url, bytes.length, { filename: 'revenue.csv' }, headers);
  expect(created.status).toBe(201);
  const done = await patchUpload(created.url, 0, bytes, headers);
  expect(done.status).toBe(204);
  return done.headers.get('tally-job-id')!;
};

describe('fair share between owners', () => {
  // Its own timeout: 200 queued jobs uploaded and worked through: over 30 s under load 16.
  it('owner B’s one job starts as soon as one of owner A’s 200 queued jobs ends', async () => {
    expect(csvOneAClaim.length).toBeGreaterThan(64 * 1024);
    const { tally, gate } = await start();
    const aJobs: string[] = [];
    for (let i = 0; i < 200; i++) aJobs.push(await upload(tally.url, asAlice, csvOneAClaim));
    // Both workers hold one of A's jobs; 198 wait behind them.
    await waitUntil(() => gate.held.length >= 2, { what: 'both workers to hold a job of A' });
    const bJob = await upload(tally.url, asBob);

    gate.release(gate.held[0]!);
    await waitUntil(() => gate.held.length >= 3, { what: 'a worker to take the next job' });
    expect(gate.held[2], 'the job a freed worker took next').toBe(bJob);
    expect(gate.held.slice(0, 2).every((id) => aJobs.includes(id))).toBe(true);
  }, 90_000);

  it('owner B’s one small job is in the next claim, ahead of owner A’s 200 small queued jobs', async () => {
    // A claim takes a run of small jobs at once and its slot runs them one after another: B's
    // job may wait for the rest of a batch already claimed, never for a claim made after it.
    const { tally, gate } = await start();
    const aJobs: string[] = [];
    for (let i = 0; i < 200; i++) aJobs.push(await upload(tally.url, asAlice));
    await waitUntil(() => gate.held.length >= 2, { what: 'both workers to hold a job of A' });
    const bJob = await upload(tally.url, asBob);
    while (!gate.held.includes(bJob)) {
      const seen = gate.held.length;
      gate.releaseAll();
      await waitUntil(() => gate.held.length > seen, { what: 'a worker to take the next job' });
    }
    // Claims made after B's upload and before B's: each took A's jobs over B's.
    const { rows } = await tally.database.sql.query<{ passed_over: number; before_b: number }>(
      `select count(*) filter (where a.started_at > b.created_at and a.started_at < b.started_at)::int as passed_over,
              count(*) filter (where a.started_at < b.started_at)::int as before_b
         from jobs a, jobs b where b.id = $1 and a.id = any($2)`,
      [bJob, aJobs],
    );
    expect(rows[0]?.passed_over).toBe(0);
    // Not first by chance: A's jobs were claimed before it, and most still wait.
    expect(rows[0]?.before_b).toBeGreaterThanOrEqual(2);
    expect(rows[0]?.before_b).toBeLessThan(50);
  }, 90_000);

  it('WORKER_MAX_RUNNING_PER_OWNER=1 keeps A to one running job while a worker is free', async () => {
    const { tally, gate } = await start({ WORKER_MAX_RUNNING_PER_OWNER: '1' });
    const aJobs = [await upload(tally.url, asAlice), await upload(tally.url, asAlice)];
    await waitUntil(() => gate.held.length >= 1, { what: 'a worker to take A’s first job' });
    const bJob = await upload(tally.url, asBob);
    await waitUntil(() => gate.held.length >= 2, { what: 'the free worker to take B’s job' });
    expect(gate.held).toEqual([aJobs[0], bJob]);
    const { rows } = await tally.database.sql.query<{ state: string }>(
      'select state from jobs where id = $1',
      [aJobs[1]],
    );
    expect(rows[0]?.state).toBe('queued');
  });

  it('claims that waited together still keep A to one running job: they take turns', async () => {
    const { tally, gate } = await start({ WORKER_MAX_RUNNING_PER_OWNER: '1' });
    // Hold the capped queue's claim lock, so both slots' claims of A's two jobs wait on it
    // together: without the turns, both would count A's running jobs in snapshots taken at
    // once, see none, and take one each.
    const holder = await tally.database.sql.connect();
    try {
      await holder.query('begin');
      await holder.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [
        claimLockKey(ANALYSIS_QUEUE),
      ]);
      const aJobs = [await upload(tally.url, asAlice), await upload(tally.url, asAlice)];
      await waitUntil(
        async () => {
          const { rows } = await tally.database.sql.query<{ n: number }>(
            `select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`,
          );
          return rows[0]!.n >= 2;
        },
        { what: 'both slots’ claims to wait on the lock' },
      );
      await holder.query('commit');
      await waitUntil(() => gate.held.length >= 1, { what: 'a worker to take A’s first job' });
      const bJob = await upload(tally.url, asBob);
      await waitUntil(() => gate.held.length >= 2, { what: 'the free worker to take B’s job' });
      expect(gate.held).toEqual([aJobs[0], bJob]);
    } finally {
      await holder.query('rollback').catch(() => undefined);
      holder.release();
    }
  });

  it('a resumable upload’s job takes its turn too: the cap holds A’s, B’s goes first', async () => {
    const { tally, gate } = await start({ WORKER_MAX_RUNNING_PER_OWNER: '1' });
    const aFirst = await upload(tally.url, asAlice);
    await waitUntil(() => gate.held.length >= 1, { what: 'a worker to take A’s first job' });
    const aResumable = await uploadResumable(tally.url, asAlice);
    const bJob = await upload(tally.url, asBob);
    await waitUntil(() => gate.held.length >= 2, { what: 'the free worker to take B’s job' });
    expect(gate.held).toEqual([aFirst, bJob]);
    const { rows } = await tally.database.sql.query<{ priority: number; group_id: string }>(
      `select priority, group_id from pgboss.job where id = $1`,
      [aResumable],
    );
    // A had one job in flight: its turn comes after B's first, as a form post's would.
    expect(rows[0]).toEqual({ priority: -1, group_id: 'alice' });
  });
});
