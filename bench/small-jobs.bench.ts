/**
 * P5 many small jobs: uploads of 1 KB CSVs, 20 at a time, upload → completed, through the
 * real API and worker processes. The floor is pg-boss itself running no-op jobs one at a
 * time in the same run. Then the same Tally run with 1, 2 and 4 worker processes.
 */
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { Agent, request } from 'undici';
import type { BenchServer } from './support/database.ts';
import { cpuOf, perJobMs, postgresCpu, postmasterOf, type CpuSeconds } from './support/process-cpu.ts';
import { startRole, stopAll, type ChildTally } from './support/processes.ts';
import type { GoalResult } from './support/report.ts';
import { runIfMain, type BenchPart } from './support/standalone.ts';
import { round } from './support/stats.ts';

const CSV = `date,amount,customer\n${Array.from({ length: 40 }, (_, i) => `2024-01-${String(1 + (i % 28)).padStart(2, '0')},${i + 1}.50,c${i % 7}`).join('\n')}\n`;
const BOUNDARY = 'tallybenchsmall';
/**
 * The multipart body, built once: fetch + FormData cost the load generator ~1 ms of CPU
 * per upload, on the same two cores as the API, PostgreSQL and the workers.
 */
const BODY = Buffer.from(
  `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="small.csv"\r\nContent-Type: text/csv\r\n\r\n${CSV}\r\n--${BOUNDARY}--\r\n`,
);

/**
 * The floor: pg-boss's own throughput for no-op jobs, one at a time — one sender awaiting
 * each `send`, one worker taking one job per fetch (batchSize 1, localConcurrency 1) and
 * fetching again as soon as its handler ends (what Tally's workers do; else pg-boss would
 * sleep its polling interval between jobs and this would measure the sleep).
 * `workers` > 1 gives the same with that many workers (printed for context).
 */
async function pgBossNoopThroughput(url: string, jobs: number, workers = 1): Promise<number> {
  const boss = new PgBoss({
    connectionString: url,
    schema: `bench_noop_${workers}`,
    useListenNotify: true,
    supervise: false,
    schedule: false,
  });
  boss.on('error', () => undefined);
  await boss.start();
  await boss.createQueue('noop', { notify: true });
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  for (let w = 0; w < workers; w++) {
    const self = { id: '' };
    self.id = await boss.work(
      'noop',
      { batchSize: 1, localConcurrency: 1, pollingIntervalSeconds: 0.5 },
      () => {
        if (++done === jobs) finish();
        boss.notifyWorker(self.id);
        return Promise.resolve();
      },
    );
  }
  const started = performance.now();
  for (let i = 0; i < jobs; i++) await boss.send('noop', { n: i });
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await boss.stop({ graceful: false, close: true });
  return jobs / seconds;
}

const SCALING_FLOOR = 0.7;

/**
 * Where the time went, per run: the uploads alone, upload → last job completed, and each
 * process's CPU per job (the load generator is this process).
 */
const phases: { workers: number; uploadMs: number; totalMs: number; cpu: string }[] = [];

function cpuNow(api: number, workers: number[], postmaster: number) {
  const sum = (list: CpuSeconds[]) =>
    list.reduce((a, b) => ({ user: a.user + b.user, system: a.system + b.system }), {
      user: 0,
      system: 0,
    });
  const self = process.cpuUsage();
  return {
    api: cpuOf(api),
    workers: sum(workers.map(cpuOf)),
    postgres: postgresCpu(postmaster),
    load: { user: self.user / 1e6, system: self.system / 1e6 },
  };
}

/** Tally end to end: `jobs` uploads, `concurrency` at a time, until all are completed. */
export async function tallyThroughput(
  server: BenchServer,
  jobs: number,
  workers: number,
  concurrency = 20,
): Promise<number> {
  const database = await server.createDatabase();
  const children: ChildTally[] = [];
  const sql = new pg.Pool({ connectionString: database.url, max: 2 });
  try {
    // BENCH_PROF=1: CPU profiles of the API and worker processes in /tmp/prof.
    const prof: Record<string, string> = process.env.BENCH_PROF
      ? { NODE_OPTIONS: '--cpu-prof --cpu-prof-dir=/tmp/prof' }
      : {};
    const api = await startRole('api', database.url, { ...database.env, ...prof });
    children.push(api.child);
    for (let i = 0; i < workers; i++)
      children.push(
        (await startRole('worker', database.url, { ...database.env, WORKER_CONCURRENCY: '2', ...prof }))
          .child,
      );
    const backend = await sql.query<{ pid: number }>('select pg_backend_pid() as pid');
    const postmaster = postmasterOf(Number(backend.rows[0]?.pid));
    const cpuPids = [api.child.pid, children.slice(1).map((c) => c.pid)] as const;
    const cpu0 = cpuNow(...cpuPids, postmaster);
    const started = performance.now();
    let next = 0;
    const dispatcher = new Agent({ connections: concurrency });
    const uploader = async () => {
      while (next < jobs) {
        next++;
        const res = await request(`${api.url}/api/jobs`, {
          method: 'POST',
          dispatcher,
          headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
          body: BODY,
        });
        const text = await res.body.text();
        if (res.statusCode !== 202) throw new Error(`upload answered ${res.statusCode}: ${text}`);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, uploader));
    await dispatcher.close();
    const uploadedAt = performance.now();
    for (;;) {
      const { rows } = await sql.query<{ n: number }>(
        `select count(*)::int as n from jobs where state = 'completed'`,
      );
      if ((rows[0]?.n ?? 0) >= jobs) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const end = performance.now();
    const cpu1 = cpuNow(...cpuPids, postmaster);
    const cpu = (['api', 'workers', 'postgres', 'load'] as const)
      .map((k) => `${k} ${perJobMs(cpu0[k], cpu1[k], jobs)}`)
      .join(', ');
    phases.push({ workers, uploadMs: uploadedAt - started, totalMs: end - started, cpu });
    return jobs / ((end - started) / 1000);
  } finally {
    await sql.end();
    await stopAll(children);
    await database.drop();
  }
}

export const runSmallJobsBench: BenchPart = async (server, { quick, log = () => {} }) => {
  const counts = process.env.BENCH_WORKERS?.split(',').map(Number);
  const opts = { jobs: quick ? 100 : 2000, workerCounts: counts ?? (quick ? [1, 2] : [1, 2, 4]) };
  const floorDb = await server.createDatabase();
  const floor = await pgBossNoopThroughput(floorDb.url, opts.jobs);
  const floor10 = await pgBossNoopThroughput(floorDb.url, opts.jobs, 10).finally(() => floorDb.drop());
  log(
    `P5 floor: pg-boss no-op jobs one at a time: ${round(floor)} jobs/s (with 10 workers: ${round(floor10)} jobs/s)`,
  );
  const perCount: { workers: number; jobsPerSecond: number }[] = [];
  for (const workers of opts.workerCounts) {
    const jobsPerSecond = await tallyThroughput(server, opts.jobs, workers);
    perCount.push({ workers, jobsPerSecond });
    const phase = phases.at(-1);
    log(
      `P5 Tally, ${opts.jobs} uploads of 1 KB, 20 at a time, ${workers} worker process(es): ${round(jobsPerSecond)} jobs/s` +
        ` (uploads done at ${round(phase?.uploadMs ?? 0)} ms, all completed at ${round(phase?.totalMs ?? 0)} ms;` +
        ` CPU ms per job: ${phase?.cpu})`,
    );
  }
  const best = Math.max(...perCount.map((p) => p.jobsPerSecond));
  return [
    {
      id: 'P5',
      what: `${opts.jobs} small jobs, upload → completed (best of ${opts.workerCounts.join('/')} workers)`,
      value: round(best),
      unit: 'jobs/s',
      floor: { what: 'pg-boss no-op, one at a time, jobs/s', value: round(floor) },
      ratio: round(best / floor),
      // Issue 24 raised the goal from 0.6× to 0.8× of pg-boss's own no-op round.
      goal: '≥ 0.8× floor',
      pass: best / floor >= 0.8,
      note: `pg-boss no-op with 10 workers at once: ${round(floor10)} jobs/s (Tally ${round(best / floor10)}× of it)`,
    },
    // More worker processes than cores cannot add throughput here (2 cores shared with the
    // API, PostgreSQL and the load), but they must not take it away: each count keeps at
    // least SCALING_FLOOR of the 1-worker figure (measured on main: 1.03× with 2, 0.78× with
    // 4); lock contention or a thundering herd on pickup would show as a collapse.
    ...perCount.map((p): GoalResult => {
      const ratio = p.jobsPerSecond / (perCount[0]?.jobsPerSecond ?? Number.NaN);
      return {
        id: `P5-${p.workers}w`,
        what: `scaling: ${p.workers} worker process(es)`,
        value: round(p.jobsPerSecond),
        unit: 'jobs/s',
        ratio: round(ratio),
        goal: `≥ ${SCALING_FLOOR}× 1 worker`,
        pass: ratio >= SCALING_FLOOR,
      };
    }),
  ];
};

await runIfMain(import.meta.url, runSmallJobsBench);
