/**
 * S2 behind a transaction pooler: P3's pickup (commit → handler) and P5's small jobs
 * (upload → completed, one worker process) with DATABASE_URL through PgBouncer in
 * transaction mode (LISTEN_DATABASE_URL direct, as docs/reference.md "Processes and databases" asks), each beside the
 * same measurement straight to PostgreSQL in the same run, in alternating order.
 * PgBouncer is Debian's (installed by scripts/ensure-test-tools.sh), provisioned here as the
 * pooler test does, with fewer server connections than the processes' pools ask for.
 */
import { startPgBouncer } from '../test/support/pgbouncer.ts';
import { runPickupBench } from './pickup.bench.ts';
import { tallyThroughput } from './small-jobs.bench.ts';
import type { BenchServer } from './support/database.ts';
import type { GoalResult } from './support/report.ts';
import { runIfMain, type BenchPart } from './support/standalone.ts';
import { median, round } from './support/stats.ts';

/** Server connections PgBouncer opens per database: below one API's pools alone (2 × 10 + 5). */
const POOL_SIZE = 10;

/** The same server with every database reached through `pooledUrl`, LISTEN straight. */
function throughPooler(server: BenchServer, pooledUrl: (url: string) => string): BenchServer {
  return {
    ...server,
    createDatabase: async () => {
      const database = await server.createDatabase();
      return { ...database, url: pooledUrl(database.url), env: { LISTEN_DATABASE_URL: database.url } };
    },
  };
}

async function pickupP50(server: BenchServer, quick: boolean): Promise<number> {
  const rows = await runPickupBench(server, { quick });
  const p50 = rows.find((r) => r.id === 'P3a')?.value;
  if (p50 === undefined) throw new Error('the pickup bench gave no P3a row');
  return p50;
}

export const runPoolerBench: BenchPart = async (server, { quick, log = () => {} }) => {
  const anchor = await server.createDatabase();
  const bouncer = await startPgBouncer(anchor.url, { defaultPoolSize: POOL_SIZE });
  const pooled = throughPooler(server, (url) => bouncer.pooledUrl(url));
  const rounds = quick ? 1 : 3;
  const jobs = quick ? 100 : 1000;
  const pickup = { direct: [] as number[], pooled: [] as number[] };
  const smallJobs = { direct: [] as number[], pooled: [] as number[] };
  let relayed: number;
  try {
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? (['direct', 'pooled'] as const) : (['pooled', 'direct'] as const);
      for (const way of order) {
        const target = way === 'direct' ? server : pooled;
        pickup[way].push(await pickupP50(target, quick));
        smallJobs[way].push(await tallyThroughput(target, jobs, 1));
        log(
          `S2 round ${r + 1} ${way}: pickup p50 ${round(pickup[way].at(-1)!)} ms, ` +
            `${jobs} small jobs ${round(smallJobs[way].at(-1)!)} jobs/s`,
        );
      }
    }
    // Proof that the pooled runs went through PgBouncer: the transactions it relayed.
    const stats = await bouncer.admin('SHOW STATS');
    relayed = stats.reduce((sum, row) => sum + Number(row.total_xact_count ?? 0), 0);
  } finally {
    await bouncer.stop();
    await anchor.drop();
  }
  const p50 = { direct: median(pickup.direct), pooled: median(pickup.pooled) };
  const jps = { direct: median(smallJobs.direct), pooled: median(smallJobs.pooled) };
  const note =
    `PgBouncer transaction mode, default_pool_size ${POOL_SIZE}, ${relayed.toLocaleString('en-US')} transactions relayed;` +
    ` medians of ${rounds} alternating round(s)`;
  const results: GoalResult[] = [
    {
      id: 'S2a',
      what: 'pickup p50 through PgBouncer',
      value: round(p50.pooled),
      unit: 'ms',
      floor: { what: 'direct, ms', value: round(p50.direct) },
      ratio: round(p50.pooled / p50.direct),
      goal: '≤ 1.5× floor',
      pass: p50.pooled / p50.direct <= 1.5 && relayed > 0,
      note,
    },
    {
      id: 'S2b',
      what: `P5 ${jobs} small jobs through PgBouncer (1 worker)`,
      value: round(jps.pooled),
      unit: 'jobs/s',
      floor: { what: 'direct, jobs/s', value: round(jps.direct) },
      ratio: round(jps.pooled / jps.direct),
      goal: '≥ 0.8× floor',
      pass: jps.pooled / jps.direct >= 0.8,
    },
  ];
  return results;
};

await runIfMain(import.meta.url, runPoolerBench);
