/**
 * P3 pickup: commit of the upload transaction → handler start, through Tally's real
 * upload transaction (recordUpload) and real worker (the first thing a job does after its
 * claim is open its file: the `wrapSource` hook marks that moment). Jobs go one at a time,
 * so this is latency, not queueing. Beside it, pg-boss with plain polling (its default).
 */
import { PgBoss } from 'pg-boss';
import { startTally } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { runIfMain, type BenchPart } from './support/standalone.ts';
import { storeUpload } from './support/store-upload.ts';
import { percentile, round } from './support/stats.ts';

export const runPickupBench: BenchPart = async (server, { quick, log = () => {} }) => {
  const opts = { jobs: quick ? 30 : 300, pollingJobs: quick ? 3 : 10 };
  const database = await server.createDatabase();
  const csvBytes = Buffer.from('date,amount\n2024-01-01,1.00\n');
  const config = loadConfig({
    DATABASE_URL: database.url,
    LOG_LEVEL: 'silent',
    WORKER_CONCURRENCY: '2',
    ...database.env,
  });
  const waiting = new Map<string, (t: number) => void>();
  const tally = await startTally({
    role: 'worker',
    config,
    databaseUrl: database.url,
    log: createLogger('silent'),
    workerHooks: {
      wrapSource: (jobId, source) => {
        waiting.get(jobId)?.(performance.now());
        return source;
      },
    },
  });
  const latencies: number[] = [];
  try {
    for (let i = 0; i < opts.jobs + 10; i++) {
      const recorded = await storeUpload(
        { db: tally.db, boss: tally.boss, files: tally.files },
        { content: csvBytes },
        'tiny.csv',
      );
      const committedAt = performance.now();
      const started = new Promise<number>((resolve) => waiting.set(recorded.jobId, resolve));
      const at = await Promise.race([
        started,
        new Promise<number>((r) => setTimeout(() => r(Number.NaN), 10_000)),
      ]);
      waiting.delete(recorded.jobId);
      if (i >= 10) latencies.push(at - committedAt); // the first 10 warm up pools and JIT
    }
  } finally {
    await tally.close();
  }
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  log(`P3 LISTEN/NOTIFY pickup over ${latencies.length} jobs: p50 ${round(p50)} ms, p99 ${round(p99)} ms`);

  // pg-boss's default: polling every 2 s, no NOTIFY.
  const boss = new PgBoss({
    connectionString: database.url,
    schema: 'bench_polling',
    supervise: false,
    schedule: false,
  });
  boss.on('error', () => undefined);
  await boss.start();
  await boss.createQueue('bench-polling');
  const pollStarts = new Map<string, (t: number) => void>();
  await boss.work<{ n: number }>('bench-polling', { batchSize: 1 }, ([job]) => {
    if (job) pollStarts.get(job.id)?.(performance.now());
    return Promise.resolve();
  });
  const polling: number[] = [];
  for (let i = 0; i < opts.pollingJobs; i++) {
    const id = crypto.randomUUID();
    const started = new Promise<number>((resolve) => pollStarts.set(id, resolve));
    const sentAt = performance.now();
    await boss.send('bench-polling', { n: i }, { id });
    polling.push((await started) - sentAt);
  }
  await boss.stop({ graceful: false, close: true });
  await database.drop();
  const pollP50 = percentile(polling, 50);
  log(
    `P3 pg-boss default polling over ${polling.length} jobs: p50 ${round(pollP50)} ms, p99 ${round(percentile(polling, 99))} ms`,
  );

  return [
    {
      id: 'P3a',
      what: 'pickup p50, commit → handler (NOTIFY)',
      value: round(p50),
      unit: 'ms',
      floor: { what: 'pg-boss default polling p50, ms', value: round(pollP50) },
      ratio: round(pollP50 / p50),
      goal: '≤ 5 ms',
      pass: p50 <= 5,
    },
    {
      id: 'P3b',
      what: 'pickup p99, commit → handler (NOTIFY)',
      value: round(p99),
      unit: 'ms',
      goal: '≤ 20 ms',
      pass: p99 <= 20,
    },
  ];
};

await runIfMain(import.meta.url, runPickupBench);
