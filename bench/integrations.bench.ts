/**
 * W1 and T1: what signed webhooks and OpenTelemetry tracing cost P5 (many small jobs,
 * bench/small-jobs.bench.ts), each measured against P5 with the feature off in the same
 * run, runs alternating off / on (then on / off) so a load change on the shared machine
 * falls on both sides, each side's best run compared.
 * - W1: WEBHOOK_URL + WEBHOOK_SECRET pointing at a receiver in this process that answers
 *   204 at once (every job's final state is then one signed POST): P5 loses ≤ 10 %.
 * - T1: OTEL_EXPORTER_OTLP_ENDPOINT pointing at a receiver that accepts every export
 *   (the SDK, @fastify/otel, the pg instrumentation and pg-boss's spans all on): P5 keeps
 *   ≥ 0.85× of tracing off.
 * P5's own code runs unchanged: the features are switched on through the environment its
 * API and worker processes inherit.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { BenchServer } from './support/database.ts';
import type { GoalResult } from './support/report.ts';
import { runIfMain, type BenchPart } from './support/standalone.ts';
import { argFlag, round } from './support/stats.ts';
import { runSmallJobsBench } from './small-jobs.bench.ts';

/** A receiver that counts requests and answers each with `status` once its body is read. */
async function countingReceiver(
  status: number,
): Promise<{ url: string; count: () => number; close(): Promise<void> }> {
  let n = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      n++;
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    count: () => n,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** P5's jobs/s (its best worker count) with `env` set for the processes it starts. */
async function p5With(
  server: BenchServer,
  quick: boolean,
  env: Record<string, string>,
  log: (line: string) => void,
): Promise<number> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  // One worker process: the overhead per job, without the worker-count scan P5 also does.
  const savedWorkers = process.env.BENCH_WORKERS;
  Object.assign(process.env, env, { BENCH_WORKERS: savedWorkers ?? '1' });
  try {
    const rows = await runSmallJobsBench(server, { quick, log });
    const p5 = rows.find((r) => r.id === 'P5');
    if (!p5) throw new Error('P5 gave no row');
    return p5.value;
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    if (savedWorkers === undefined) delete process.env.BENCH_WORKERS;
  }
}

/**
 * Alternates off/on runs (`pairs` of each), returning each side's best jobs/s. The best, not
 * the mean: another load on the machine only ever slows a run, so each side's fastest run is
 * its least disturbed. Seen 2026-12-06: one W1 run with webhooks on read 190 jobs/s against
 * 283 for the other, and its API's CPU per job (work webhooks do not touch) was up 40 % too.
 */
async function alternate(
  server: BenchServer,
  quick: boolean,
  env: Record<string, string>,
  log: (line: string) => void,
  label: string,
): Promise<{ off: number; on: number }> {
  const off: number[] = [];
  const on: number[] = [];
  const pairs = quick ? 1 : 2;
  for (let i = 0; i < pairs; i++) {
    const order = i % 2 === 0 ? [false, true] : [true, false];
    for (const enabled of order) {
      const jobsPerSecond = await p5With(server, quick, enabled ? env : {}, log);
      (enabled ? on : off).push(jobsPerSecond);
      log(`${label} P5 with ${enabled ? 'it on' : 'it off'}: ${round(jobsPerSecond)} jobs/s`);
    }
  }
  return { off: Math.max(...off), on: Math.max(...on) };
}

export const runWebhookOverheadBench: BenchPart = async (server, { quick, log = () => {} }) => {
  const receiver = await countingReceiver(204);
  try {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const { off, on } = await alternate(
      server,
      quick,
      { WEBHOOK_URL: `${receiver.url}/hooks`, WEBHOOK_SECRET: secret },
      log,
      'W1',
    );
    const overhead = 1 - on / off;
    log(`W1 webhooks: ${receiver.count()} deliveries received during the runs with them on`);
    return [
      {
        id: 'W1',
        what: 'P5 with signed webhooks on (one delivery per job)',
        value: round(on),
        unit: 'jobs/s',
        floor: { what: 'P5 with webhooks off, same run, jobs/s (best of 2 each)', value: round(off) },
        ratio: round(on / off),
        goal: '≤ 10 % slower (≥ 0.90×)',
        pass: overhead <= 0.1,
        note: `${round(overhead * 100)} % overhead; ${receiver.count()} deliveries received while the runs lasted`,
      } satisfies GoalResult,
    ];
  } finally {
    await receiver.close();
  }
};

export const runTracingOverheadBench: BenchPart = async (server, { quick, log = () => {} }) => {
  const receiver = await countingReceiver(200);
  try {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: 'tally-bench',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
    };
    const { off, on } = await alternate(server, quick, env, log, 'T1');
    log(`T1 tracing: ${receiver.count()} OTLP exports received during the runs with it on`);
    return [
      {
        id: 'T1',
        what: 'P5 with tracing on (OTLP/HTTP exporter)',
        value: round(on),
        unit: 'jobs/s',
        floor: { what: 'P5 with tracing off, same run, jobs/s (best of 2 each)', value: round(off) },
        ratio: round(on / off),
        goal: '≥ 0.85× tracing off',
        pass: on / off >= 0.85,
        note: `${receiver.count()} OTLP exports received`,
      } satisfies GoalResult,
    ];
  } finally {
    await receiver.close();
  }
};

/** `npx tsx bench/integrations.bench.ts [--quick] [--webhooks | --tracing]`. */
const runBoth: BenchPart = async (server, opts) => [
  ...(argFlag('--tracing') ? [] : await runWebhookOverheadBench(server, opts)),
  ...(argFlag('--webhooks') ? [] : await runTracingOverheadBench(server, opts)),
];

await runIfMain(import.meta.url, runBoth);
