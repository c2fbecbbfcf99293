import os from 'node:os';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/wait-until.ts';
import { freePort, spawnTally, type ChildTally } from '../support/child-process.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { postCsv, waitForFinal } from '../support/http.ts';

// Scaling out as docs/reference.md ("Processes and databases") promises: one API and three workers as separate OS
// processes (`src/main.ts api|worker`) on one database, no shared disk. Evidence of who
// ran what comes from the workers' own JSON logs (pid + jobId on every job line).

const WORKERS = 3;
const JOBS = 30;

let database: TestDatabase;
let api: ChildTally;
let workers: ChildTally[] = [];
let baseUrl: string;

interface LogLine {
  msg: string;
  pid: number;
  jobId?: string;
  reqId?: string;
  time: number;
}
const parse = (lines: string[]): LogLine[] =>
  lines.flatMap((l) => {
    try {
      return [JSON.parse(l) as LogLine];
    } catch {
      return []; // not a log line (e.g. a Node warning)
    }
  });

beforeAll(async () => {
  database = await createTestDatabase();
  const port = await freePort();
  const env = {
    DATABASE_URL: database.url,
    HOST: '127.0.0.1',
    PORT: String(port),
    // One slot each: on this machine the first worker processes, one per core, act on new
    // jobs' NOTIFYs and the others poll (src/worker/wake-policy.ts).
    WORKER_CONCURRENCY: '1',
    LOG_LEVEL: 'info',
  };
  api = spawnTally('src/main.ts', ['api'], env);
  workers = Array.from({ length: WORKERS }, () => spawnTally('src/main.ts', ['worker'], env));
  // Four processes starting at once on two shared cores: ~30 s each under load 15.
  await Promise.all([api, ...workers].map((p) => p.waitForLog(/"msg":"tally started"/, 90_000)));
  baseUrl = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  const children = [api, ...workers].filter(Boolean);
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(
    children.map(async (child) => {
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000).unref());
      if ((await Promise.race([child.exited, timeout])) === 'timeout') child.kill('SIGKILL');
      await child.exited;
    }),
  );
  await database?.drop();
  // No leaks: every child is gone (kill -0 on a dead pid throws ESRCH).
  const alive = children.filter((c) => {
    try {
      process.kill(c.pid, 0);
      return true;
    } catch {
      return false;
    }
  });
  expect(alive.map((c) => c.pid)).toEqual([]);
});

/** A few thousand rows: long enough (~50 ms of analysis) that workers overlap. */
function csv(i: number): string {
  const rows = Array.from(
    { length: 3000 },
    (_, r) =>
      `2024-${String((r % 12) + 1).padStart(2, '0')}-15,${(r * 7 + i) % 500}.25,cust${r % 97},p${r % 13}`,
  );
  return `date,amount,customer,product\n${rows.join('\n')}\n`;
}

describe('one API and three worker processes', () => {
  // Its own timeout: 30 uploads over four processes: expected over 30 s under load.
  it('run 30 concurrent uploads to completion, each once, spread over the workers', async () => {
    const uploads = await Promise.all(
      Array.from({ length: JOBS }, (_, i) => postCsv(baseUrl, csv(i), { filename: `f${i}.csv` })),
    );
    expect(uploads.map((u) => u.status)).toEqual(Array(JOBS).fill(202));
    const ids = uploads.map((u) => u.body.jobId as string);
    expect(new Set(ids).size).toBe(JOBS);

    const finals = await Promise.all(ids.map((id) => waitForFinal(baseUrl, id, {}, 45_000)));
    expect(finals.map((f) => f.state)).toEqual(Array(JOBS).fill('completed'));
    // attempts is bumped by every claim: 1 means no job was ever picked up twice.
    expect(finals.map((f) => f.attempts)).toEqual(Array(JOBS).fill(1));

    // Worker logs: exactly one start and one completion per job, all by the same pid. A
    // worker logs "job completed" just after its commit, and the line crosses a pipe: the
    // client can see `completed` first (a flaky failure, 29 of 30 lines, until this waited).
    const workerLines = await waitUntil(
      () => {
        const lines = parse(workers.flatMap((w) => w.logs));
        return lines.filter((l) => l.msg === 'job completed').length >= JOBS && lines;
      },
      { what: 'a "job completed" log line for every job', timeoutMs: 10_000 },
    );
    const starts = workerLines.filter((l) => l.msg === 'attempt started');
    const completions = workerLines.filter((l) => l.msg === 'job completed');
    expect(starts.map((l) => l.jobId).sort()).toEqual([...ids].sort());
    expect(completions.map((l) => l.jobId).sort()).toEqual([...ids].sort());
    const ranBy = new Map(starts.map((l) => [l.jobId, l.pid]));
    for (const c of completions) expect(c.pid).toBe(ranBy.get(c.jobId));

    const perWorker = workers.map((w) => starts.filter((l) => l.pid === w.pid).length);
    process.stdout.write(`[scale] jobs per worker process: ${perWorker.join(', ')}\n`);
    expect(perWorker.reduce((a, b) => a + b, 0)).toBe(JOBS);
    // Every NOTIFY wakes each worker that acts on it (one per core here): with two cores or
    // more, at least two of them share the jobs.
    const acting = Math.min(WORKERS, os.availableParallelism());
    expect(
      perWorker.filter((n) => n > 0).length,
      `jobs per worker: ${perWorker.join(', ')}`,
    ).toBeGreaterThanOrEqual(Math.min(2, acting));

    // One grep follows a job from API to worker: the upload's reqId is on the worker's lines.
    const accepted = parse(api.logs).filter((l) => l.msg === 'upload accepted');
    const reqIdOf = new Map(accepted.map((l) => [l.jobId, l.reqId]));
    for (const s of starts) {
      expect(s.reqId).toBeDefined();
      expect(s.reqId).toBe(reqIdOf.get(s.jobId));
    }
  }, 90_000);

  it('stays within the documented connection ceiling per process', async () => {
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ application_name: string; n: number }>(
        `select application_name, count(*)::int as n from pg_stat_activity
         where datname = current_database() and pid <> pg_backend_pid()
         group by 1 order by 1`,
      );
      const total = rows.reduce((a, r) => a + r.n, 0);
      // docs/operations.md: ≤ DB_POOL_MAX (10) + pg-boss pool (4) + 2 listeners per process.
      expect(total, JSON.stringify(rows)).toBeLessThanOrEqual((1 + WORKERS) * (10 + 4 + 2));
      process.stdout.write(`[scale] connections after ${JOBS} jobs: ${JSON.stringify(rows)}\n`);
    } finally {
      await admin.end();
    }
  });
});
