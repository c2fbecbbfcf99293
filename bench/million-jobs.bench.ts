/**
 * S1 a million jobs: the calls a client and an operator make, and one maintenance pass, on a
 * table holding `finished` finished jobs beside the same calls on a table holding only the
 * caller's own page-able history (the floor, measured in the same run). Both databases run at
 * once behind their own in-process Tally and are measured in alternating steps, so the
 * machine's load falls on both alike.
 */
import type pg from 'pg';
import type { Tally } from '../src/app.ts';
import { startInProcessTally } from './support/in-process-tally.ts';
import type { BenchServer } from './support/database.ts';
import type { GoalResult } from './support/report.ts';
import { runIfMain, type BenchPart } from './support/standalone.ts';
import { median, percentile, round } from './support/stats.ts';

const TOKEN = 'million-bench-token-0123456789';
const OWNER = 'big';
/** The caller's own jobs on both tables: enough for 50 pages of 20. */
const OWN_JOBS = 1_100;

interface Side {
  name: string;
  tally: Tally;
  url: string;
  sql: pg.Pool;
  /** Job ids of OWNER not yet asked for (a status read of a job asked before is served from memory). */
  unread: string[];
  /** The cursor that gives page 50 of OWNER's list. */
  page50Cursor: string;
  drop(): Promise<void>;
}

/**
 * `count` finished jobs ending 30 s apart, the newest 2 h ago, with UUIDv7-like ids in that
 * order; OWNER's alone, or (`allOwners`) every other one OWNER's, the rest spread over 1,000 owners. Bytes gone (as file
 * retention leaves them), small results: the table's rows, not its TOAST, are what is measured.
 */
async function insertFinishedJobs(
  sql: pg.Pool,
  count: number,
  newest: string,
  allOwners: boolean,
): Promise<void> {
  await sql.query(
    `insert into jobs (id, owner, state, filename, bytes, sha256, compression, delimiter,
                       created_at, started_at, finished_at, file_deleted_at, result, rows_processed)
     select (lpad(to_hex((extract(epoch from t) * 1000)::bigint), 12, '0') || '7000' || $3::text
               || lpad(to_hex(i), 12, '0'))::uuid,
            case when $5 or i % 2 = 0 then $2 else 'owner-' || (i % 1000) end,
            case when i % 100 = 7 then 'failed' when i % 100 = 9 then 'cancelled' else 'completed' end,
            'revenue.csv', 40000, 'x', 'none', ',', t - interval '3 seconds', t - interval '2 seconds', t, t,
            '{"rows": 1000}', 1000
       from generate_series(1, $1::int) i,
            lateral (select $4::timestamptz - ($1::int - i) * interval '30 seconds' as t) ts`,
    [count, OWNER, allOwners ? '9000' : '8000', newest, !allOwners],
  );
}

async function trpcGet(base: string, path: string, input: unknown): Promise<unknown> {
  const res = await fetch(`${base}/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  const body = (await res.json()) as { result?: { data: unknown } };
  if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${JSON.stringify(body)}`);
  return body.result?.data;
}

async function startSide(server: BenchServer, name: string, finished: number, log: (l: string) => void) {
  const database = await server.createDatabase();
  const running = await startInProcessTally(database, {
    API_TOKENS: `${OWNER}:${TOKEN}`,
    TRPC_RATE_LIMIT_PER_SECOND: '1000000',
    // The retention query runs in each pass (finding nothing that old), as in production.
    JOB_RETENTION_DAYS: '3650',
  });
  const { tally, sql } = running;
  const started = performance.now();
  if (finished > 0)
    await insertFinishedJobs(sql, finished, new Date(Date.now() - 3 * 3600_000).toISOString(), true);
  await insertFinishedJobs(sql, OWN_JOBS, new Date(Date.now() - 2 * 3600_000).toISOString(), false);
  // What autovacuum does after a bulk insert (visibility map, statistics), done now.
  await sql.query('vacuum analyze jobs');
  // The bulk insert's dirty pages written now, not by a checkpoint in the middle of the timing
  // (it needs superuser or pg_checkpoint: skipped without).
  await sql.query('checkpoint').catch(() => undefined);
  await tally.maintenance?.runOnce();
  if (finished > 0)
    log(
      `S1 ${name}: ${finished.toLocaleString('en-US')} finished jobs inserted in ${round((performance.now() - started) / 1000, 1)} s`,
    );
  const { rows } = await sql.query<{ id: string }>(
    `select id from jobs where owner = $1 order by random() limit 2000`,
    [OWNER],
  );
  let cursor: string | null = null;
  for (let page = 1; page < 50; page++)
    cursor = (
      (await trpcGet(tally.url!, 'jobs.list', { limit: 20, cursor })) as { nextCursor: string | null }
    ).nextCursor;
  if (!cursor) throw new Error(`${name}: fewer than 50 pages`);
  const side: Side = {
    name,
    tally,
    url: tally.url!,
    sql,
    unread: rows.map((r) => r.id),
    page50Cursor: cursor,
    drop: async () => {
      await running.close();
      await database.drop();
    },
  };
  return side;
}

type Figure = 'status' | 'listFirst' | 'listDeep' | 'queueHealth' | 'maintenance';

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** One call of each API figure on one side, and every third step one queue_health and one pass. */
async function measureStep(side: Side, step: number, samples: Record<Figure, number[]>) {
  const jobId = side.unread.pop();
  if (!jobId) throw new Error(`${side.name}: out of unread jobs`);
  samples.status.push(await timed(() => trpcGet(side.url, 'jobs.status', { jobId })));
  samples.listFirst.push(await timed(() => trpcGet(side.url, 'jobs.list', { limit: 20 })));
  samples.listDeep.push(
    await timed(() => trpcGet(side.url, 'jobs.list', { limit: 20, cursor: side.page50Cursor })),
  );
  if (step % 3 !== 0) return;
  samples.queueHealth.push(await timed(() => side.sql.query('select * from tally_admin.queue_health')));
  samples.maintenance.push(await timed(() => side.tally.maintenance!.runOnce()));
}

const emptySamples = (): Record<Figure, number[]> => ({
  status: [],
  listFirst: [],
  listDeep: [],
  queueHealth: [],
  maintenance: [],
});

export const runMillionJobsBench: BenchPart = async (server, { quick, log = () => {} }) => {
  const finished = quick ? 100_000 : 1_000_000;
  const steps = quick ? 180 : 900;
  const small = await startSide(server, 'empty', 0, log);
  const big = await startSide(server, 'million', finished, log).catch(async (e: unknown) => {
    await small.drop();
    throw e;
  });
  const on = { empty: emptySamples(), million: emptySamples() };
  try {
    // Step by step, the two sides in turn (the first side alternating): a burst of load on the
    // machine (a checkpoint, another engineer's test) falls on both alike.
    for (let step = 0; step < 10; step++) {
      await measureStep(small, step, emptySamples()); // warm-up: JIT, pools, caches
      await measureStep(big, step, emptySamples());
    }
    for (let step = 0; step < steps; step++) {
      const order = step % 2 === 0 ? [small, big] : [big, small];
      for (const side of order) await measureStep(side, step, side === small ? on.empty : on.million);
    }
  } finally {
    await small.drop();
    await big.drop();
  }
  const label = `${finished.toLocaleString('en-US')} finished jobs`;
  const row = (id: string, what: string, figure: Figure, stat: 'p99' | 'p50'): GoalResult => {
    const pick = (s: number[]) => (stat === 'p99' ? percentile(s, 99) : median(s));
    const value = pick(on.million[figure]);
    const floor = pick(on.empty[figure]);
    log(
      `S1 ${what}: ${round(value)} ms with ${label}, ${round(floor)} ms without` +
        ` (p50 ${round(median(on.million[figure]))} vs ${round(median(on.empty[figure]))} ms; ${on.million[figure].length} samples each)`,
    );
    return {
      id,
      what: `${what}, ${label}`,
      value: round(value),
      unit: 'ms',
      floor: { what: `same, ${OWN_JOBS.toLocaleString('en-US')} jobs, ms`, value: round(floor) },
      ratio: round(value / floor),
      goal: '≤ 1.2× floor',
      pass: value / floor <= 1.2,
    };
  };
  return [
    row('S1a', 'jobs.status p99', 'status', 'p99'),
    row('S1b', 'jobs.list first page p99', 'listFirst', 'p99'),
    row('S1c', 'jobs.list page 50 (cursor) p99', 'listDeep', 'p99'),
    row('S1d', 'tally_admin.queue_health p50', 'queueHealth', 'p50'),
    row('S1e', 'maintenance pass p50', 'maintenance', 'p50'),
  ];
};

await runIfMain(import.meta.url, runMillionJobsBench);
