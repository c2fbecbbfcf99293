/**
 * P4 status under load: many concurrent pollers on GET /trpc/jobs.status against a real
 * API process, beside a bare node:http + pg SELECT of the same row (the floor), both as
 * separate processes loaded from this one. Then long-poll delivery: clients waiting with
 * `knownVersion` hear a change made in the database within how long?
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { Agent, request } from 'undici';
import { freePort, startRole, stopAll } from './support/processes.ts';
import { runIfMain, type BenchPart } from './support/standalone.ts';
import { percentile, round } from './support/stats.ts';

const root = path.resolve(import.meta.dirname, '..');

async function load(url: string, pollers: number, seconds: number): Promise<{ rps: number; p99: number }> {
  const dispatcher = new Agent({ connections: pollers, pipelining: 1 });
  const latencies: number[] = [];
  const stopAt = performance.now() + seconds * 1000;
  const warmUntil = performance.now() + 500;
  let counted = 0;
  const poller = async () => {
    while (performance.now() < stopAt) {
      const s = performance.now();
      const res = await request(url, { dispatcher });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
      if (s > warmUntil) {
        latencies.push(performance.now() - s);
        counted++;
      }
    }
  };
  await Promise.all(Array.from({ length: pollers }, poller));
  await dispatcher.close();
  return { rps: counted / (seconds - 0.5), p99: percentile(latencies, 99) };
}

export const runStatusBench: BenchPart = async (server, { quick, log = () => {} }) => {
  const opts = { pollers: quick ? 100 : 1000, seconds: quick ? 2 : 6, rounds: quick ? 2 : 10 };
  const database = await server.createDatabase();
  const api = await startRole(
    'api',
    database.url,
    process.env.BENCH_PROF ? { NODE_OPTIONS: '--cpu-prof --cpu-prof-dir=/tmp/prof' } : {},
  );
  const sql = new pg.Pool({ connectionString: database.url, max: 2 });
  const barePort = await freePort();
  const bare = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/support/bare-status-server.ts', String(barePort), database.url],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    await new Promise((r) => bare.stdout.once('data', r));
    const form = new FormData();
    form.append('file', new Blob(['date,amount\n2024-01-01,1\n']), 'status.csv');
    const { jobId } = (await (await fetch(`${api.url}/api/jobs`, { method: 'POST', body: form })).json()) as {
      jobId: string;
    };
    const input = encodeURIComponent(JSON.stringify({ jobId }));

    const floor = await load(`http://127.0.0.1:${barePort}/status?id=${jobId}`, opts.pollers, opts.seconds);
    log(`P4 floor (bare http + SELECT): ${round(floor.rps)} req/s, p99 ${round(floor.p99)} ms`);
    const tally = await load(`${api.url}/trpc/jobs.status?input=${input}`, opts.pollers, opts.seconds);
    log(
      `P4 Tally jobs.status, ${opts.pollers} pollers: ${round(tally.rps)} req/s, p99 ${round(tally.p99)} ms`,
    );

    // Long poll: N clients wait on the current version; a change is made in the database.
    const delivery: number[] = [];
    for (let round_ = 0; round_ < opts.rounds; round_++) {
      const { rows } = await sql.query<{ version: number }>('select version from jobs where id = $1', [
        jobId,
      ]);
      const knownVersion = rows[0]?.version ?? 0;
      const waitInput = encodeURIComponent(JSON.stringify({ jobId, waitMs: 20_000, knownVersion }));
      let changedAt = 0;
      const waiters = Array.from({ length: 50 }, async () => {
        const res = await fetch(`${api.url}/trpc/jobs.status?input=${waitInput}`);
        await res.text();
        return performance.now();
      });
      await new Promise((r) => setTimeout(r, 300)); // let every waiter arrive
      changedAt = performance.now();
      await sql.query('update jobs set rows_processed = rows_processed + 1 where id = $1', [jobId]);
      for (const answeredAt of await Promise.all(waiters)) delivery.push(answeredAt - changedAt);
    }
    const deliveryP99 = percentile(delivery, 99);
    log(
      `P4 long-poll delivery over ${delivery.length} waits: p50 ${round(percentile(delivery, 50))} ms, p99 ${round(deliveryP99)} ms`,
    );
    return [
      {
        id: 'P4a',
        what: `jobs.status throughput, ${opts.pollers} pollers`,
        value: round(tally.rps),
        unit: 'req/s',
        floor: { what: 'bare http + SELECT, req/s', value: round(floor.rps) },
        ratio: round(tally.rps / floor.rps),
        goal: '≥ 5,000 req/s',
        pass: tally.rps >= 5000,
      },
      {
        id: 'P4b',
        what: 'jobs.status p99 under that load',
        value: round(tally.p99),
        unit: 'ms',
        floor: { what: 'bare p99, ms', value: round(floor.p99) },
        goal: '≤ 20 ms',
        pass: tally.p99 <= 20,
      },
      {
        id: 'P4c',
        what: 'long-poll change delivery p99',
        value: round(deliveryP99),
        unit: 'ms',
        goal: '≤ 100 ms',
        pass: deliveryP99 <= 100,
      },
    ];
  } finally {
    bare.kill();
    await sql.end();
    await stopAll([api.child]);
    await database.drop();
  }
};

await runIfMain(import.meta.url, runStatusBench);
