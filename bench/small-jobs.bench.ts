/**
 * P5 many small jobs: uploads of 1 KB CSVs, 20 at a time, upload → completed, through the
 * real API and worker processes. The floor is pg-boss itself running no-op jobs one at a
 * time (batchSize 1, localConcurrency 10) in the same run. Then the same Tally run with
 * 1, 2 and 4 worker processes.
 */
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import type { BenchServer } from './support/database.ts';
import { startRole, stopAll, type ChildTally } from './support/processes.ts';
import type { GoalResult } from './support/report.ts';
import { runIfMain, type BenchPart } from './support/standalone.ts';
import { round } from './support/stats.ts';

const CSV = `date,amount,customer\n${Array.from({ length: 40 }, (_, i) => `2024-01-${String(1 + (i % 28)).padStart(2, '0')},${i + 1}.50,c${i % 7}`).join('\n')}\n`;

/** pg-boss's own throughput for no-op jobs taken one at a time: the floor. */
async function pgBossNoopThroughput(url: string, jobs: number): Promise<number> {
  const boss = new PgBoss({
    connectionString: url,
    schema: 'bench_noop',
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
  const started = performance.now();
  for (let i = 0; i < jobs; i += 500) {
    await boss.insert(
      'noop',
      Array.from({ length: Math.min(500, jobs - i) }, (_, k) => ({ data: { n: i + k } })),
    );
  }
  // Fetch again as soon as a handler ends (what Tally's workers do), else pg-boss would
  // sleep its polling interval between jobs and this floor would measure the sleep.
  for (let w = 0; w < 10; w++) {
    const self = { id: '' };
    self.id = await boss.work('noop', { batchSize: 1, pollingIntervalSeconds: 0.5 }, () => {
      if (++done === jobs) finish();
      boss.notifyWorker(self.id);
      return Promise.resolve();
    });
  }
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await boss.stop({ graceful: false, close: true });
  return jobs / seconds;
}

/** Where the time went, per run: the uploads alone, and upload → last job completed. */
const phases: { workers: number; uploadMs: number; totalMs: number }[] = [];

/** Tally end to end: `jobs` uploads, `concurrency` at a time, until all are completed. */
async function tallyThroughput(
  server: BenchServer,
  jobs: number,
  workers: number,
  concurrency = 20,
): Promise<number> {
  const database = await server.createDatabase();
  const children: ChildTally[] = [];
  const sql = new pg.Pool({ connectionString: database.url, max: 2 });
  try {
    const api = await startRole('api', database.url);
    children.push(api.child);
    for (let i = 0; i < workers; i++)
      children.push((await startRole('worker', database.url, { WORKER_CONCURRENCY: '2' })).child);
    const started = performance.now();
    let next = 0;
    const uploader = async () => {
      while (next < jobs) {
        next++;
        const form = new FormData();
        form.append('file', new Blob([CSV]), 'small.csv');
        const res = await fetch(`${api.url}/api/jobs`, { method: 'POST', body: form });
        if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${await res.text()}`);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, uploader));
    const uploadedAt = performance.now();
    for (;;) {
      const { rows } = await sql.query<{ n: number }>(
        `select count(*)::int as n from jobs where state = 'completed'`,
      );
      if ((rows[0]?.n ?? 0) >= jobs) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const end = performance.now();
    phases.push({ workers, uploadMs: uploadedAt - started, totalMs: end - started });
    return jobs / ((end - started) / 1000);
  } finally {
    await sql.end();
    await stopAll(children);
    await database.drop();
  }
}

export const runSmallJobsBench: BenchPart = async (server, { quick, log = () => {} }) => {
  const opts = { jobs: quick ? 100 : 2000, workerCounts: quick ? [1, 2] : [1, 2, 4] };
  const floorDb = await server.createDatabase();
  const floor = await pgBossNoopThroughput(floorDb.url, opts.jobs).finally(() => floorDb.drop());
  log(`P5 floor: pg-boss no-op jobs one at a time: ${round(floor)} jobs/s`);
  const perCount: { workers: number; jobsPerSecond: number }[] = [];
  for (const workers of opts.workerCounts) {
    const jobsPerSecond = await tallyThroughput(server, opts.jobs, workers);
    perCount.push({ workers, jobsPerSecond });
    const phase = phases.at(-1);
    log(
      `P5 Tally, ${opts.jobs} uploads of 1 KB, 20 at a time, ${workers} worker process(es): ${round(jobsPerSecond)} jobs/s` +
        ` (uploads done at ${round(phase?.uploadMs ?? 0)} ms, all completed at ${round(phase?.totalMs ?? 0)} ms)`,
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
      goal: '≥ 0.5× floor',
      pass: best / floor >= 0.5,
    },
    ...perCount.map((p): GoalResult => ({
      id: `P5-${p.workers}w`,
      what: `scaling: ${p.workers} worker process(es)`,
      value: round(p.jobsPerSecond),
      unit: 'jobs/s',
      ratio: round(p.jobsPerSecond / (perCount[0]?.jobsPerSecond ?? 1)),
      goal: 'printed (vs 1 worker)',
      pass: true,
    })),
  ];
};

await runIfMain(import.meta.url, runSmallJobsBench);
