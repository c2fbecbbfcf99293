/**
 * F1 fair share: owner A keeps 200 jobs queued; owner B sends one job at a time. How long does
 * B's job wait (upload → its attempt starts), p99? The floor, measured in the same run: the
 * same wait with the queue idle (pickup p99) plus one of A's jobs' run time (median) — a
 * worker must free up first. Real uploads through the API, real analyses, 2 workers.
 */
import type pg from 'pg';
import type { Tally } from '../src/app.ts';
import { startInProcessTally } from './support/in-process-tally.ts';
import type { GoalResult } from './support/report.ts';
import { runIfMain, type BenchPart } from './support/standalone.ts';
import { median, percentile, round } from './support/stats.ts';

const ALICE = 'fair-share-alice-0123456789';
const BOB = 'fair-share-bob-0123456789';
const BACKLOG = 200;
/** A few thousand rows: a job of some tens of milliseconds, long beside a pickup. */
const CSV = `date,amount,customer\n${Array.from({ length: 5000 }, (_, i) => `2024-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')},${(i % 997) + 0.5},c${i % 53}`).join('\n')}\n`;

async function upload(tally: Tally, token: string): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([CSV]), 'revenue.csv');
  const res = await fetch(`${tally.url}/api/jobs`, {
    method: 'POST',
    body: form,
    headers: { authorization: `Bearer ${token}` },
  });
  const body = (await res.json()) as { jobId?: string };
  if (res.status !== 202 || !body.jobId)
    throw new Error(`upload answered ${res.status}: ${JSON.stringify(body)}`);
  return body.jobId;
}

/** Upload → attempt start, in ms, once the job has finished (read from its row). */
async function queueWaitWhenDone(sql: pg.Pool, jobId: string): Promise<number> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { rows } = await sql.query<{ state: string; wait_ms: number }>(
      `select state, extract(epoch from started_at - created_at) * 1000 as wait_ms from jobs where id = $1`,
      [jobId],
    );
    const row = rows[0];
    if (row && ['completed', 'failed', 'cancelled'].includes(row.state)) {
      if (row.state !== 'completed') throw new Error(`job ${jobId} ended ${row.state}`);
      return Number(row.wait_ms);
    }
    if (Date.now() > deadline) throw new Error(`job ${jobId} did not finish`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Uploads A's jobs until BACKLOG of them are queued. */
async function topUp(tally: Tally, sql: pg.Pool): Promise<void> {
  const { rows } = await sql.query<{ n: number }>(
    `select count(*)::int as n from jobs where owner = 'alice' and state = 'queued'`,
  );
  const missing = BACKLOG - (rows[0]?.n ?? 0);
  for (let i = 0; i < missing; i += 10)
    await Promise.all(Array.from({ length: Math.min(10, missing - i) }, () => upload(tally, ALICE)));
}

export const runFairShareBench: BenchPart = async (server, { quick, log = () => {} }) => {
  const idleJobs = quick ? 10 : 30;
  const trials = quick ? 5 : 30;
  const database = await server.createDatabase();
  const running = await startInProcessTally(database, {
    API_TOKENS: `alice:${ALICE},bob:${BOB}`,
    UPLOAD_RATE_LIMIT_PER_MINUTE: '1000000',
    WORKER_CONCURRENCY: '2',
  });
  const { tally, sql } = running;
  const idle: number[] = [];
  const busy: number[] = [];
  let aliceRunMs: number;
  try {
    for (let i = 0; i < idleJobs + 3; i++) {
      const wait = await queueWaitWhenDone(sql, await upload(tally, BOB));
      if (i >= 3) idle.push(wait); // the first few warm up pools and JIT
    }
    for (let t = 0; t < trials; t++) {
      await topUp(tally, sql);
      busy.push(await queueWaitWhenDone(sql, await upload(tally, BOB)));
    }
    const { rows } = await sql.query<{ ms: number }>(
      `select extract(epoch from finished_at - started_at) * 1000 as ms
         from jobs where owner = 'alice' and state = 'completed'`,
    );
    aliceRunMs = median(rows.map((r) => Number(r.ms)));
  } finally {
    await running.close();
    await database.drop();
  }
  const idleP99 = percentile(idle, 99);
  const busyP99 = percentile(busy, 99);
  const floor = idleP99 + aliceRunMs;
  log(
    `F1 B's queue wait: idle p50 ${round(median(idle))} ms p99 ${round(idleP99)} ms; behind ${BACKLOG} of A's:` +
      ` p50 ${round(median(busy))} ms p99 ${round(busyP99)} ms; A's job run time p50 ${round(aliceRunMs)} ms`,
  );
  const result: GoalResult = {
    id: 'F1',
    what: `owner B's job, queue wait p99, A has ${BACKLOG} queued (${trials} trials)`,
    value: round(busyP99),
    unit: 'ms',
    floor: { what: "pickup p99 idle + A's job run time p50, ms", value: round(floor) },
    ratio: round(busyP99 / floor),
    goal: '≤ 2× floor',
    pass: busyP99 / floor <= 2,
    note: `idle pickup p99 ${round(idleP99)} ms, A's job ${round(aliceRunMs)} ms (5,000-row CSV), 2 workers`,
  };
  return [result];
};

await runIfMain(import.meta.url, runFairShareBench);
