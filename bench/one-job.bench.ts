/**
 * T: one small job as a client sees it — upload → first status read → long polls →
 * completed — through real API and worker processes, one job at a time, many runs.
 * Each run is also split at the database's own timestamps (commit of the upload →
 * pg-boss claim → attempt start → result written → pg-boss complete), so a slower T
 * says which step grew.
 *
 * With `COUNT_ROUND_TRIPS=1` both processes count their statements (support/count-round-trips.ts)
 * and the part prints round trips and transactions per job.
 */
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Agent, request } from 'undici';
import { cpuOf, postgresCpu, postmasterOf } from './support/process-cpu.ts';
import { startRole, stopAll, type ChildTally } from './support/processes.ts';
import { runIfMain, type BenchPart } from './support/standalone.ts';
import { median, percentile, round } from './support/stats.ts';

const CSV = 'date,amount,customer\n2024-01-01,10.50,c1\n2024-01-02,3.25,c2\n';
const BOUNDARY = 'tallybenchone';
const BODY = Buffer.from(
  `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="one.csv"\r\nContent-Type: text/csv\r\n\r\n${CSV}\r\n--${BOUNDARY}--\r\n`,
);
const COUNTER = path.resolve(import.meta.dirname, 'support', 'count-round-trips.ts');

interface Run {
  /** Client: POST sent → 202 read. */
  uploadMs: number;
  /** Client: POST sent → completed status read. */
  totalMs: number;
  /** Status requests after the upload (the first read plus long polls). */
  polls: number;
}

/** One job, as the client library does it: a plain read, then long polls on its version. */
async function oneJob(api: string, dispatcher: Agent): Promise<Run & { jobId: string; sentAt: number }> {
  const t0 = performance.now();
  // The wall clock, as the database stamps it (timeOrigin + now() drifts from it over a run).
  const sentAt = Date.now();
  const res = await request(`${api}/api/jobs`, {
    method: 'POST',
    dispatcher,
    headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
    body: BODY,
  });
  const upload = (await res.body.json()) as { jobId: string };
  if (res.statusCode !== 202) throw new Error(`upload answered ${res.statusCode}`);
  const uploadMs = performance.now() - t0;
  let known: number | undefined;
  let polls = 0;
  for (;;) {
    const input = {
      jobId: upload.jobId,
      waitMs: 25_000,
      ...(known === undefined ? {} : { knownVersion: known }),
    };
    const status = await request(
      `${api}/trpc/jobs.status?input=${encodeURIComponent(JSON.stringify(input))}`,
      {
        dispatcher,
      },
    );
    const body = (await status.body.json()) as { result: { data: { state: string; version: number } } };
    polls++;
    const { state, version } = body.result.data;
    if (state === 'completed') break;
    if (state === 'failed' || state === 'cancelled') throw new Error(`job ${state}`);
    known = version;
  }
  return { jobId: upload.jobId, sentAt, uploadMs, totalMs: performance.now() - t0, polls };
}

/** The database's timestamps of one job's steps, in ms after the job row's insert. */
const STEPS_SQL = `
  select j.id, extract(epoch from b.created_on) * 1000 as inserted,
         extract(epoch from b.started_on) * 1000 as claimed,
         extract(epoch from j.started_at) * 1000 as started,
         extract(epoch from j.finished_at) * 1000 as finished,
         extract(epoch from b.completed_on) * 1000 as completed
    from jobs j join pgboss.job b on b.data->>'jobId' = j.id::text
   where j.id = any($1::uuid[])`;
type Step = 'inserted' | 'claimed' | 'started' | 'finished' | 'completed';

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const { user, system } = cpuOf(pid);
  return user + system;
}

/** The API's, the worker's and PostgreSQL's CPU seconds so far (the postmaster's children). */
function cpuNow(children: ChildTally[], postmaster: number) {
  const { user, system } = postgresCpu(postmaster);
  return {
    api: cpuSeconds(children[0]!.pid),
    worker: cpuSeconds(children[1]!.pid),
    postgres: user + system,
  };
}

/** Each child's statement counts so far: it writes them when signalled (count-round-trips.ts). */
async function roundTrips(children: ChildTally[], dir: string, tag: string) {
  const out: Record<string, { count: number; ms: number }> = {};
  for (const [i, c] of children.entries()) {
    const file = path.join(dir, `rt-${i}.json`);
    await rm(file, { force: true });
    c.proc.kill('SIGUSR2');
    // The child renames the finished file into place: its appearance is the answer.
    const deadline = Date.now() + 10_000;
    let text: string | undefined;
    while (text === undefined) {
      text = await readFile(file, 'utf8').catch(() => undefined);
      if (text === undefined && Date.now() > deadline)
        throw new Error(`no round-trip counts from child ${i}`);
      if (text === undefined) await new Promise((r) => setTimeout(r, 20));
    }
    const { counts, millis } = JSON.parse(text) as Record<'counts' | 'millis', Record<string, number>>;
    for (const [k, v] of Object.entries(counts)) out[`${tag}${i} ${k}`] = { count: v, ms: millis[k] ?? 0 };
  }
  return out;
}

export const runOneJobBench: BenchPart = async (server, { quick, log = () => {} }) => {
  const runs = Number(process.env.BENCH_T_RUNS ?? (quick ? 20 : 200));
  const count = process.env.COUNT_ROUND_TRIPS === '1';
  const database = await server.createDatabase();
  const sql = new pg.Pool({ connectionString: database.url, max: 1 });
  const children: ChildTally[] = [];
  const dir = os.tmpdir();
  // BENCH_PROF=1: CPU profiles of the API and worker processes in /tmp/prof (not with counting).
  const env = (i: number): Record<string, string> =>
    count
      ? {
          NODE_OPTIONS: `--import tsx --import ${COUNTER}`,
          COUNT_ROUND_TRIPS_FILE: path.join(dir, `rt-${i}.json`),
        }
      : process.env.BENCH_PROF
        ? { NODE_OPTIONS: '--cpu-prof --cpu-prof-dir=/tmp/prof' }
        : {};
  const results: Run[] = [];
  const ids: string[] = [];
  const sentAt = new Map<string, number>();
  let perJob: { roundTrips: number; transactions: number; lines: string[] } | undefined;
  try {
    const api = await startRole('api', database.url, env(0));
    children.push(api.child);
    // WORKER_CONCURRENCY as deployed (2); BENCH_T_WORKER_CONCURRENCY to see what one changes.
    const concurrency = process.env.BENCH_T_WORKER_CONCURRENCY ?? '2';
    children.push(
      (await startRole('worker', database.url, { WORKER_CONCURRENCY: concurrency, ...env(1) })).child,
    );
    const dispatcher = new Agent({ connections: 2 });
    for (let i = 0; i < 10; i++) await oneJob(api.url, dispatcher); // pools, JIT, caches
    const before = count ? await roundTrips(children, dir, 'p') : {};
    const xact = `select xact_commit + xact_rollback as n from pg_stat_database where datname = current_database()`;
    const x0 = Number((await sql.query<{ n: string }>(xact)).rows[0]?.n);
    const backend = await sql.query<{ pid: number }>('select pg_backend_pid() as pid');
    const postmaster = postmasterOf(Number(backend.rows[0]?.pid));
    const cpu0 = cpuNow(children, postmaster);
    for (let i = 0; i < runs; i++) {
      const run = await oneJob(api.url, dispatcher);
      results.push(run);
      ids.push(run.jobId);
      sentAt.set(run.jobId, run.sentAt);
    }
    const cpu1 = cpuNow(children, postmaster);
    const ms = (k: keyof typeof cpu0) => round(((cpu1[k] - cpu0[k]) / runs) * 1000);
    log(
      `T CPU per job (ms, load-independent): API ${ms('api')}, worker ${ms('worker')}, PostgreSQL ${ms('postgres')} (with other databases' work on the same server)`,
    );
    if (count) {
      // pg_stat_database is updated when a backend's transaction ends, within ~1 s.
      await new Promise((r) => setTimeout(r, 1500));
      const x1 = Number((await sql.query<{ n: string }>(xact)).rows[0]?.n);
      const after = await roundTrips(children, dir, 'p');
      // Per job: how many of each statement, and the mean ms from its call to its answer.
      const lines = Object.entries(after)
        .map(([k, v]) => {
          const count = v.count - (before[k]?.count ?? 0);
          return [k, count / runs, count > 0 ? (v.ms - (before[k]?.ms ?? 0)) / count : 0] as const;
        })
        .filter(([, n]) => n > 0)
        .map(([k, n, each]) => `${round(n, 2)}\t${round(each, 2)} ms\t${k}`);
      const total =
        Object.entries(after).reduce((s, [k, v]) => s + v.count - (before[k]?.count ?? 0), 0) / runs;
      // The bench's own two reads of pg_stat_database are 2 of the transactions.
      perJob = { roundTrips: total, transactions: (x1 - x0 - 2) / runs, lines };
    }
    await dispatcher.close();
    const steps = await sql.query<Record<Step, number> & { id: string }>(STEPS_SQL, [ids]);
    const at = (k: Step) =>
      round(median(steps.rows.map((r) => Number(r[k]) - (sentAt.get(r.id) ?? Number.NaN))));
    log(
      `T steps, median ms after the POST was sent (database clock): upload transaction began ${at('inserted')}, ` +
        `claimed ${at('claimed')}, attempt started ${at('started')}, result written ${at('finished')}, pg-boss completed ${at('completed')}`,
    );
  } finally {
    await sql.end();
    await stopAll(children);
    await database.drop();
  }
  const total = results.map((r) => r.totalMs);
  const p50 = median(total);
  const p90 = percentile(total, 90);
  log(
    `T over ${runs} jobs: median ${round(p50)} ms, p90 ${round(p90)} ms, p99 ${round(percentile(total, 99))} ms; ` +
      `upload median ${round(median(results.map((r) => r.uploadMs)))} ms; status requests per job median ${median(results.map((r) => r.polls))}`,
  );
  if (perJob) {
    log(
      `T round trips per job: ${round(perJob.roundTrips, 2)} (p0 = API, p1 = worker); transactions per job ${round(perJob.transactions, 2)}`,
    );
    log('  per job\teach\tstatement (p0 = API, p1 = worker)');
    for (const line of perJob.lines) log(`  ${line}`);
  }
  return [
    {
      id: 'T',
      what: 'one small job as a client sees it (upload → long poll → completed), median',
      value: round(p50),
      unit: 'ms',
      goal: '≤ 15 ms',
      pass: p50 <= 15,
      note: `p90 ${round(p90)} ms (goal ≤ 30 ms) over ${runs} jobs one at a time`,
    },
    {
      id: 'T90',
      what: 'one small job as a client sees it, p90',
      value: round(p90),
      unit: 'ms',
      goal: '≤ 30 ms',
      pass: p90 <= 30,
    },
  ];
};

await runIfMain(import.meta.url, runOneJobBench);
