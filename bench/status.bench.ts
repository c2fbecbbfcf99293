/**
 * P4 status under load: 1,000 simulated pollers on GET /trpc/jobs.status against a real
 * API process, beside a bare node:http + pg SELECT of the same rows (the floor), both as
 * separate processes. Each poller polls its own job every 195 ms (5,128 req/s offered, so
 * meeting the offered rate clears the 5,000 req/s goal), while two jobs change every
 * 250 ms as running jobs' progress does. Capacity (closed loop, as fast as answers come)
 * is measured for both to give the ratio. Then long-poll delivery: clients waiting with
 * `knownVersion` hear a change made in the database within how long? Last, the herd
 * (5,000 long polls on ONE job, one change, delivery p99, and how long another
 * owner's unrelated status call takes meanwhile).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { longPollHerd, poll, type PollResult } from './support/pollers.ts';
import { freePort, startRole, stopAll } from './support/processes.ts';
import { runIfMain, type BenchPart } from './support/standalone.ts';
import type { GoalResult } from './support/report.ts';
import { argFlag, percentile, round } from './support/stats.ts';

const root = path.resolve(import.meta.dirname, '..');
const INTERVAL_MS = 195;

/** Clones the uploaded job into `count` jobs of the same owner; returns their ids. */
async function cloneJobs(sql: pg.Pool, jobId: string, count: number): Promise<string[]> {
  const { rows } = await sql.query<{ id: string }>(
    `insert into jobs (id, owner, state, filename, bytes, sha256, compression, options, delimiter)
     select gen_random_uuid(), owner, state, filename, bytes, sha256, compression, options, delimiter
     from jobs, generate_series(1, $2) where id = $1 returning id`,
    [jobId, count - 1],
  );
  return [jobId, ...rows.map((r) => r.id)];
}

/** Two "running" jobs whose progress changes every 250 ms (each change NOTIFYs). */
function churn(sql: pg.Pool, ids: readonly string[]): () => void {
  const timer = setInterval(() => {
    void sql
      .query('update jobs set rows_processed = rows_processed + 1 where id = any($1)', [ids.slice(0, 2)])
      .catch(() => undefined);
  }, 250);
  return () => clearInterval(timer);
}

const HERD_TOKEN = 'herd-token-0123456789';
const OTHER_TOKEN = 'other-token-0123456789';

/** Polls `read` until it gives at least `n` (`what` it counts, for the error), for up to 60 s. */
async function untilAtLeast(read: () => Promise<number>, n: number, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const seen = await read();
    if (seen >= n) return;
    if (Date.now() > deadline) throw new Error(`fewer than ${n} ${what} arrived: ${seen}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the API holds `n` long polls (its tally_long_polls gauge). */
const untilWaiting = (url: string, n: number) =>
  untilAtLeast(
    async () =>
      Number(/^tally_long_polls (\d+)/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? 0),
    n,
    'long polls',
  );

/**
 * P4d: `waiters` long polls on one job; one UPDATE; when does each hear it? Meanwhile
 * another owner asks for the status of its own job, one call after another.
 */
async function runHerd(databaseUrl: string, sql: pg.Pool, waiters: number, rounds: number) {
  const api = await startRole('api', databaseUrl, {
    API_TOKENS: `herd:${HERD_TOKEN},other:${OTHER_TOKEN}`,
    LONG_POLLS_PER_OWNER: String(waiters + 100),
    LONG_POLLS_MAX: String(waiters + 100),
    MAX_CONNECTIONS: String(waiters + 1000),
    // Start-up refuses a watch-stream cap at or above MAX_CONNECTIONS; the herd holds none.
    WATCH_STREAMS_MAX: String(waiters),
    TRPC_RATE_LIMIT_PER_SECOND: '1000000',
    // Thousands of connections arrive at once; on a loaded machine the server reads some
    // heads more than the default 10 s after they connected (they would get 408).
    HEADERS_TIMEOUT_MS: '120000',
    ...(process.env.BENCH_PROF ? { NODE_OPTIONS: '--cpu-prof --cpu-prof-dir=/tmp/prof' } : {}),
  });
  try {
    const upload = async (token: string) => {
      const form = new FormData();
      form.append('file', new Blob(['date,amount\n2024-01-01,1\n']), 'herd.csv');
      const res = await fetch(`${api.url}/api/jobs`, {
        method: 'POST',
        body: form,
        headers: { authorization: `Bearer ${token}` },
      });
      return ((await res.json()) as { jobId: string }).jobId;
    };
    const herdJob = await upload(HERD_TOKEN);
    const otherJob = await upload(OTHER_TOKEN);
    const port = Number(new URL(api.url).port);
    const delivery: number[] = [];
    const other: number[] = [];
    let errors = 0;
    for (let round = 0; round < rounds; round++) {
      const { rows } = await sql.query<{ version: number }>('select version from jobs where id = $1', [
        herdJob,
      ]);
      const input = JSON.stringify({ jobId: herdJob, waitMs: 20_000, knownVersion: rows[0]?.version ?? 0 });
      const herd = await longPollHerd({
        port,
        path: `/trpc/jobs.status?input=${encodeURIComponent(input)}`,
        count: waiters,
        headers: { authorization: `Bearer ${HERD_TOKEN}` },
      });
      try {
        await untilWaiting(api.url, waiters);
        let herdDone = false;
        const otherCalls = (async () => {
          const path = `${api.url}/trpc/jobs.status?input=${encodeURIComponent(JSON.stringify({ jobId: otherJob }))}`;
          while (!herdDone) {
            const t0 = performance.now();
            await (await fetch(path, { headers: { authorization: `Bearer ${OTHER_TOKEN}` } })).text();
            other.push(performance.now() - t0);
          }
        })();
        await new Promise((r) => setTimeout(r, 200)); // the other owner's calls are under way
        const changedAt = performance.now();
        await sql.query('update jobs set rows_processed = rows_processed + 1 where id = $1', [herdJob]);
        const answered = await herd.answered;
        herdDone = true;
        await otherCalls;
        errors += answered.errors;
        for (const at of answered.at) delivery.push(at - changedAt);
      } finally {
        herd.close();
      }
    }
    return { delivery, other, errors };
  } finally {
    await stopAll([api.child]);
  }
}

/**
 * The floor of P4d, measured beside it: the same client holds `waiters` requests on a bare
 * node:http server (bench/support/bare-herd-server.ts) that answers them all at once.
 */
async function runHerdFloor(
  waiters: number,
  rounds: number,
  answerPath: 'http' | 'socket' = 'http',
): Promise<number[]> {
  const port = await freePort();
  const bare = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/support/bare-herd-server.ts', String(port), answerPath],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    await new Promise((r) => bare.stdout.once('data', r));
    const base = `http://127.0.0.1:${port}`;
    const delivery: number[] = [];
    // Round 0 warms the client's code up (it runs first of all) and is not counted.
    for (let round = 0; round <= rounds; round++) {
      const herd = await longPollHerd({ port, path: '/wait', count: waiters });
      try {
        await untilAtLeast(
          async () => Number(await (await fetch(`${base}/count`)).text()),
          waiters,
          'held requests',
        );
        const releasedAt = performance.now();
        await (await fetch(`${base}/release`)).text();
        const answered = await herd.answered;
        if (round > 0) for (const at of answered.at) delivery.push(at - releasedAt);
      } finally {
        herd.close();
      }
    }
    return delivery;
  } finally {
    bare.kill();
  }
}

const show = (r: PollResult) =>
  `${round(r.rps)} req/s, p50 ${round(r.p50)} ms, p99 ${round(r.p99)} ms${r.errors ? `, ${r.errors} errors` : ''}`;

export const runStatusBench: BenchPart = async (server, { quick, log = () => {} }) => {
  const opts = { pollers: quick ? 200 : 1000, seconds: quick ? 2 : 8, rounds: quick ? 2 : 10 };
  const database = await server.createDatabase();
  const api = await startRole('api', database.url, {
    // 1,000 pollers of one owner ('local') at 5,128 req/s: above the default per-owner rate.
    TRPC_RATE_LIMIT_PER_SECOND: '1000000',
    ...(process.env.BENCH_PROF ? { NODE_OPTIONS: '--cpu-prof --cpu-prof-dir=/tmp/prof' } : {}),
  });
  const sql = new pg.Pool({ connectionString: database.url, max: 2 });
  const barePort = await freePort();
  const bare = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/support/bare-status-server.ts', String(barePort), database.url],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let stopChurn = () => {};
  try {
    await new Promise((r) => bare.stdout.once('data', r));
    const form = new FormData();
    form.append('file', new Blob(['date,amount\n2024-01-01,1\n']), 'status.csv');
    const { jobId } = (await (await fetch(`${api.url}/api/jobs`, { method: 'POST', body: form })).json()) as {
      jobId: string;
    };
    const ids = await cloneJobs(sql, jobId, opts.pollers);
    stopChurn = churn(sql, ids);
    const apiPort = Number(new URL(api.url).port);
    const tallyPaths = ids.map(
      (id) => `/trpc/jobs.status?input=${encodeURIComponent(JSON.stringify({ jobId: id }))}`,
    );
    const barePaths = ids.map((id) => `/status?id=${id}`);
    const base = { pollers: opts.pollers, seconds: opts.seconds };

    // Capacity, closed loop (100 connections: enough to saturate, few enough to not queue).
    const capacity = { pollers: 100, seconds: opts.seconds / 2, intervalMs: 0 };
    const floorMax = await poll({ ...capacity, port: barePort, paths: barePaths });
    const tallyMax = await poll({ ...capacity, port: apiPort, paths: tallyPaths });
    log(`P4 capacity, closed loop: floor ${show(floorMax)}; Tally ${show(tallyMax)}`);

    const floor = await poll({ ...base, port: barePort, paths: barePaths, intervalMs: INTERVAL_MS });
    log(`P4 floor (bare http + SELECT), ${opts.pollers} pollers every ${INTERVAL_MS} ms: ${show(floor)}`);
    const tally = await poll({ ...base, port: apiPort, paths: tallyPaths, intervalMs: INTERVAL_MS });
    log(`P4 Tally jobs.status, ${opts.pollers} pollers every ${INTERVAL_MS} ms: ${show(tally)}`);
    stopChurn();

    // Long poll: 50 clients wait on the current version; a change is made in the database.
    const delivery: number[] = [];
    for (let i = 0; i < opts.rounds; i++) {
      const { rows } = await sql.query<{ version: number }>('select version from jobs where id = $1', [
        jobId,
      ]);
      const waitInput = encodeURIComponent(
        JSON.stringify({ jobId, waitMs: 20_000, knownVersion: rows[0]?.version ?? 0 }),
      );
      const waiters = Array.from({ length: 50 }, async () => {
        await (await fetch(`${api.url}/trpc/jobs.status?input=${waitInput}`)).text();
        return performance.now();
      });
      await new Promise((r) => setTimeout(r, 300)); // let every waiter arrive
      const changedAt = performance.now();
      await sql.query('update jobs set rows_processed = rows_processed + 1 where id = $1', [jobId]);
      for (const answeredAt of await Promise.all(waiters)) delivery.push(answeredAt - changedAt);
    }
    const deliveryP99 = percentile(delivery, 99);
    log(
      `P4 long-poll delivery over ${delivery.length} waits: p50 ${round(percentile(delivery, 50))} ms, p99 ${round(deliveryP99)} ms`,
    );
    const herdRow = await herdPart(database.url, sql, quick, log);
    const offered = round((opts.pollers * 1000) / INTERVAL_MS, 0);
    return [
      {
        id: 'P4a',
        what: `jobs.status, ${opts.pollers} pollers, ${offered} req/s offered`,
        value: round(tally.rps, 0),
        unit: 'req/s',
        floor: { what: 'bare http + SELECT, same load, req/s', value: round(floor.rps, 0) },
        ratio: round(tally.rps / floor.rps),
        goal: quick ? '≥ 0.98× offered (quick)' : '≥ 5,000 req/s',
        pass: tally.rps >= (quick ? 0.98 * offered : 5000) && tally.errors === 0,
      },
      {
        id: 'P4b',
        what: 'jobs.status p99 under that load',
        value: round(tally.p99),
        unit: 'ms',
        floor: { what: 'bare p99, ms', value: round(floor.p99) },
        ratio: round(tally.p99 / floor.p99),
        goal: '≤ 20 ms and ≤ 1.2× floor',
        pass: tally.p99 <= 20 && tally.p99 <= 1.2 * floor.p99,
      },
      {
        id: 'P4e',
        what: 'jobs.status capacity, closed loop, 100 connections',
        value: round(tallyMax.rps, 0),
        unit: 'req/s',
        floor: { what: 'bare http + SELECT, req/s', value: round(floorMax.rps, 0) },
        ratio: round(tallyMax.rps / floorMax.rps),
        goal: '≥ 1.0× floor',
        pass: tallyMax.rps >= floorMax.rps && tallyMax.errors === 0,
        note: `p99 ${round(tallyMax.p99)} ms against the floor's ${round(floorMax.p99)} ms`,
      },
      {
        id: 'P4c',
        what: 'long-poll change delivery p99',
        value: round(deliveryP99),
        unit: 'ms',
        goal: '≤ 100 ms',
        pass: deliveryP99 <= 100,
      },
      herdRow,
    ];
  } finally {
    stopChurn();
    bare.kill();
    await sql.end();
    await stopAll([api.child]);
    await database.drop();
  }
};

/** P4d as a row of the table. */
async function herdPart(
  databaseUrl: string,
  sql: pg.Pool,
  quick: boolean,
  log: (line: string) => void,
): Promise<GoalResult> {
  const herdSize = quick ? 1000 : 5000;
  const rounds = quick ? 2 : 5;
  const floorDelivery = await runHerdFloor(herdSize, rounds);
  const floorP99 = percentile(floorDelivery, 99);
  log(
    `P4d floor: a bare node:http server answering ${herdSize} held requests at once: p50 ${round(percentile(floorDelivery, 50))} ms, p99 ${round(floorP99)} ms`,
  );
  const herd = await runHerd(databaseUrl, sql, herdSize, rounds);
  const herdP99 = percentile(herd.delivery, 99);
  const otherMax = Math.max(...herd.other);
  log(
    `P4d herd: ${herdSize} waiters on one job, ${herd.delivery.length} deliveries: p50 ${round(percentile(herd.delivery, 50))} ms, p99 ${round(herdP99)} ms, max ${round(Math.max(...herd.delivery))} ms${herd.errors ? `, ${herd.errors} errors` : ''}; another owner's status meanwhile: ${herd.other.length} calls, p50 ${round(percentile(herd.other, 50))} ms, max ${round(otherMax)} ms`,
  );
  return {
    id: 'P4d',
    what: `herd: ${herdSize.toLocaleString('en-US')} long polls on one job, one change, delivery p99`,
    value: round(herdP99),
    unit: 'ms',
    floor: { what: 'bare node:http answering as many held requests, p99 ms', value: round(floorP99) },
    ratio: round(herdP99 / floorP99),
    goal: '≤ 100 ms',
    pass: herdP99 <= 100 && herd.errors === 0,
    note: `p50 ${round(percentile(herd.delivery, 50))} ms; another owner's status call meanwhile: p50 ${round(percentile(herd.other, 50))} ms, max ${round(otherMax)} ms over ${herd.other.length} calls`,
  };
}

/** `npx tsx bench/status.bench.ts --herd`: P4d alone. */
const runHerdAlone: BenchPart = async (server, { quick, log = () => {} }) => {
  const database = await server.createDatabase();
  const sql = new pg.Pool({ connectionString: database.url, max: 2 });
  try {
    return [await herdPart(database.url, sql, quick, log)];
  } finally {
    await sql.end();
    await database.drop();
  }
};

/**
 * `npx tsx bench/status.bench.ts --herd-paths`: P4d's floor, node:http answering 5,000 held
 * requests, beside the same answers written straight to the sockets, twice each in turn. What
 * part of P4d is node:http's own answer path (header and finish bookkeeping, a cork and a
 * writev per answer) rather than the write itself.
 */
const runHerdPaths: BenchPart = async (_server, { quick, log = () => {} }) => {
  const waiters = quick ? 1000 : 5000;
  for (let turn = 0; turn < 2; turn++) {
    for (const answerPath of ['http', 'socket'] as const) {
      const delivery = await runHerdFloor(waiters, quick ? 2 : 5, answerPath);
      log(
        `P4d floor by ${answerPath === 'http' ? 'node:http' : 'socket writes'}, ${waiters} held requests: p50 ${round(percentile(delivery, 50))} ms, p99 ${round(percentile(delivery, 99))} ms`,
      );
    }
  }
  return [];
};

const standalone = argFlag('--herd') ? runHerdAlone : argFlag('--herd-paths') ? runHerdPaths : runStatusBench;
await runIfMain(import.meta.url, standalone);
