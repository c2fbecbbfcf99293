/**
 * R1/R2 status pushed over SSE (`jobs.watch`) against a real API process.
 * - R1: `subscribers` streams on ONE job, one change in the database: when does each
 *   stream receive the new event? Floor, same run: a bare node:http server writing one
 *   event to as many held event streams (bench/support/bare-sse-server.ts).
 * - R2: 1,000 idle streams (the job does not change) held for a steady window: the API
 *   process's CPU (utime + stime from /proc) and its RSS growth over the RSS it had with
 *   none, after one warm-up stream.
 */
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { sseHerd } from './support/sse-herd.ts';
import { freePort, startRole, stopAll } from './support/processes.ts';
import type { GoalResult } from './support/report.ts';
import { runIfMain, type BenchPart } from './support/standalone.ts';
import { percentile, round } from './support/stats.ts';

const root = path.resolve(import.meta.dirname, '..');
const TOKEN = 'watch-token-0123456789';

function rssMib(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return kb / 1024;
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
}

async function withApi<T>(
  databaseUrl: string,
  streams: number,
  run: (api: { url: string; port: number; pid: number; jobId: string }) => Promise<T>,
): Promise<T> {
  const api = await startRole('api', databaseUrl, {
    API_TOKENS: `watcher:${TOKEN}`,
    WATCH_STREAMS_PER_OWNER: String(streams + 100),
    WATCH_STREAMS_MAX: String(streams + 100),
    MAX_CONNECTIONS: String(streams + 9000), // above LONG_POLLS_MAX's default too
    TRPC_RATE_LIMIT_PER_SECOND: '1000000',
    HEADERS_TIMEOUT_MS: '120000',
    ...(process.env.BENCH_PROF ? { NODE_OPTIONS: '--cpu-prof --cpu-prof-dir=/tmp/prof' } : {}),
  });
  try {
    const form = new FormData();
    form.append('file', new Blob(['date,amount\n2024-01-01,1\n']), 'watch.csv');
    const res = await fetch(`${api.url}/api/jobs`, {
      method: 'POST',
      body: form,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const { jobId } = (await res.json()) as { jobId: string };
    return await run({ url: api.url, port: Number(new URL(api.url).port), pid: api.child.pid, jobId });
  } finally {
    await stopAll([api.child]);
  }
}

const watchPath = (jobId: string) =>
  `/trpc/jobs.watch?input=${encodeURIComponent(JSON.stringify({ jobId }))}`;
const version = async (sql: pg.Pool, jobId: string) =>
  String(
    (await sql.query<{ version: number }>('select version from jobs where id = $1', [jobId])).rows[0]
      ?.version,
  );

/** R1 on Tally: `subscribers` streams, `rounds` changes, each stream's delay per change. */
async function tallyFanOut(databaseUrl: string, sql: pg.Pool, subscribers: number, rounds: number) {
  return withApi(databaseUrl, subscribers, async (api) => {
    const delivery: number[] = [];
    let missing = 0;
    let failed = 0;
    let firstError: string | undefined;
    for (let round = 0; round < rounds; round++) {
      const herd = await sseHerd({
        port: api.port,
        path: watchPath(api.jobId),
        count: subscribers,
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      try {
        const first = await herd.allSaw(await version(sql, api.jobId));
        failed += first.failed;
        firstError ??= first.firstError;
        const changedAt = performance.now();
        const { rows } = await sql.query<{ version: number }>(
          'update jobs set rows_processed = rows_processed + 1 where id = $1 returning version',
          [api.jobId],
        );
        const got = await herd.arrivals(String(rows[0]?.version), 60_000);
        missing += got.missing - first.failed;
        for (const at of got.at) delivery.push(at - changedAt);
      } finally {
        herd.close();
      }
    }
    return { delivery, missing, failed, firstError };
  });
}

/** R1's floor: the same client, a bare server writing one event to every held stream. */
async function bareFanOut(subscribers: number, rounds: number): Promise<number[]> {
  const port = await freePort();
  const bare = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/support/bare-sse-server.ts', String(port)],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    await new Promise((r) => bare.stdout.once('data', r));
    const delivery: number[] = [];
    // Round 0 warms the client's code up (it runs first of all) and is not counted.
    for (let round = 0; round <= rounds; round++) {
      const herd = await sseHerd({ port, path: '/watch', count: subscribers });
      try {
        await herd.allSaw('1');
        const releasedAt = performance.now();
        await (await fetch(`http://127.0.0.1:${port}/release`)).text();
        const got = await herd.arrivals('2', 60_000);
        if (round > 0) for (const at of got.at) delivery.push(at - releasedAt);
      } finally {
        herd.close();
      }
    }
    return delivery;
  } finally {
    bare.kill();
  }
}

async function r1(databaseUrl: string, sql: pg.Pool, quick: boolean, log: (l: string) => void) {
  const subscribers = quick ? 1000 : 5000;
  const rounds = quick ? 2 : 5;
  const floor = await bareFanOut(subscribers, rounds);
  const floorP99 = percentile(floor, 99);
  log(
    `R1 floor: bare node:http writing one event to ${subscribers} held streams: p50 ${round(percentile(floor, 50))} ms, p99 ${round(floorP99)} ms`,
  );
  const tally = await tallyFanOut(databaseUrl, sql, subscribers, rounds);
  const p99 = percentile(tally.delivery, 99);
  log(
    `R1 Tally jobs.watch, ${subscribers} streams on one job, ${tally.delivery.length} deliveries: p50 ${round(percentile(tally.delivery, 50))} ms, p99 ${round(p99)} ms${tally.missing ? `, ${tally.missing} never arrived` : ''}${tally.failed ? `, ${tally.failed} streams refused or cut before their first status (first: ${tally.firstError ?? 'closed'})` : ''}`,
  );
  const row: GoalResult = {
    id: 'R1',
    what: `${subscribers.toLocaleString('en-US')} SSE streams on one job, one change, delivery p99`,
    value: round(p99),
    unit: 'ms',
    floor: { what: 'bare node:http writing as many held streams, p99 ms', value: round(floorP99) },
    ratio: round(p99 / floorP99),
    goal: '≤ 1.5× floor',
    pass: p99 <= 1.5 * floorP99 && tally.missing === 0 && tally.failed === 0,
    note: `p50 ${round(percentile(tally.delivery, 50))} ms against the floor's ${round(percentile(floor, 50))} ms`,
  };
  return row;
}

async function r2(databaseUrl: string, quick: boolean, log: (l: string) => void): Promise<GoalResult[]> {
  const subscribers = 1000;
  // Longer than the 15 s heartbeat, so the window holds every stream's pings.
  const windowMs = quick ? 16_000 : 61_000;
  return withApi(databaseUrl, subscribers, async (api) => {
    // One stream first: the route's code is loaded and compiled before the baseline.
    const warm = await sseHerd({ port: api.port, path: watchPath(api.jobId), count: 1, headers: auth() });
    const sql = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    try {
      const v = await version(sql, api.jobId);
      await warm.allSaw(v);
      warm.close();
      await settle(api.pid);
      const before = rssMib(api.pid);
      const heapBefore = await heapMib(api.url);
      const herd = await sseHerd({
        port: api.port,
        path: watchPath(api.jobId),
        count: subscribers,
        headers: auth(),
      });
      try {
        const held = await herd.allSaw(v);
        if (held.failed > 0)
          throw new Error(
            `R2: ${held.failed} streams were refused or cut (first: ${held.firstError ?? 'closed'})`,
          );
        await settle(api.pid);
        const cpu0 = cpuSeconds(api.pid);
        const t0 = performance.now();
        await new Promise((r) => setTimeout(r, windowMs));
        const cpu = (cpuSeconds(api.pid) - cpu0) / ((performance.now() - t0) / 1000);
        const growth = rssMib(api.pid) - before;
        const heapAfter = await heapMib(api.url);
        log(
          `R2 ${subscribers} idle streams over ${round(windowMs / 1000)} s: API CPU ${round(cpu * 100)} % of one core, RSS ${round(before)} → ${round(before + growth)} MiB (+${round(growth)} MiB, ${round((growth * 1024) / subscribers)} KiB a stream); V8 heap used +${round(heapAfter.used - heapBefore.used)} MiB, external +${round(heapAfter.external - heapBefore.external)} MiB`,
        );
        return [
          {
            id: 'R2a',
            what: `${subscribers.toLocaleString('en-US')} idle SSE streams, API CPU`,
            value: round(cpu * 100),
            unit: '% of a core',
            goal: '≤ 5 %',
            pass: cpu <= 0.05,
          },
          {
            id: 'R2b',
            what: `${subscribers.toLocaleString('en-US')} idle SSE streams, API RSS growth`,
            value: round(growth),
            unit: 'MiB',
            goal: '≤ 64 MiB',
            pass: growth <= 64,
            note: `RSS ${round(before)} MiB with one warm-up stream gone, ${round(before + growth)} MiB holding ${subscribers}`,
          },
        ];
      } finally {
        herd.close();
      }
    } finally {
      await sql.end();
    }
  });
}

/** The API's V8 heap in use and its external memory (prom-client's default metrics), MiB. */
async function heapMib(url: string): Promise<{ used: number; external: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const metric = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1]) / 2 ** 20;
  return {
    used: metric('tally_nodejs_heap_size_used_bytes'),
    external: metric('tally_nodejs_external_memory_bytes'),
  };
}

const auth = () => ({ authorization: `Bearer ${TOKEN}` });

/** Lets a burst's garbage be collected before RSS is read: waits until CPU use stays low for 1 s. */
async function settle(pid: number): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const c0 = cpuSeconds(pid);
    await new Promise((r) => setTimeout(r, 1000));
    if (cpuSeconds(pid) - c0 < 0.05) return;
  }
}

export const runRealtimeBench: BenchPart = async (server, { quick, log = () => {} }) => {
  const database = await server.createDatabase();
  const sql = new pg.Pool({ connectionString: database.url, max: 2 });
  try {
    const rows: GoalResult[] = [];
    if (!process.env.BENCH_ONLY_R2) rows.push(await r1(database.url, sql, quick, log));
    rows.push(...(await r2(database.url, quick, log)));
    return rows;
  } finally {
    await sql.end();
    await database.drop();
  }
};

await runIfMain(import.meta.url, runRealtimeBench);
