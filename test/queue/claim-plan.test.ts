import pg from 'pg';
import type { PgBoss } from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatementNames } from '../../src/lib/statement-names.ts';
import { createLogger } from '../../src/logger.ts';
import { ANALYSIS_QUEUE, startBoss } from '../../src/queue/boss.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

// A claim must cost the same however many entries the queue's table holds. pg-boss keeps
// completed entries for a day (deleteAfterSeconds), so a busy queue's table holds many
// more of them than entries waiting. Repeated statements go as named prepared statements
// (src/lib/statement-names.ts), whose plan PostgreSQL makes once per connection; a claim
// planned that way while the table was small joined its entry by reading every entry of
// the queue (src/queue/boss-db.ts). The index entries one claim reads, counted by
// PostgreSQL's own statistics, say which plan ran.

let database: TestDatabase;
let boss: PgBoss;
let stats: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase();
  // One connection, kept for the whole test, as a worker's pool keeps its connections.
  boss = await startBoss(
    database.url,
    {
      heartbeatSeconds: 30,
      expireInSeconds: 60,
      retryLimit: 0,
      supervise: false,
      poolMax: 1,
      statementNames: new StatementNames(),
    },
    createLogger('silent'),
  );
  stats = new pg.Client({ connectionString: database.url });
  await stats.connect();
});
afterAll(async () => {
  await stats?.end();
  await boss?.stop({ graceful: false, close: true });
  await database?.drop();
});

/** Index entries of pg-boss's job table read so far (pg_stat_user_indexes). */
async function indexEntriesRead(): Promise<number> {
  // The boss's connection reports its counts when it next goes idle: force that now.
  await boss.getDb().executeSql('select pg_stat_force_next_flush()');
  await stats.query('select pg_stat_clear_snapshot()');
  const { rows } = await stats.query<{ n: string }>(
    `select coalesce(sum(idx_tup_read), 0) as n from pg_stat_user_indexes
      where schemaname = 'pgboss' and relname = 'job_common'`,
  );
  return Number(rows[0]?.n);
}

describe("pg-boss's claim", () => {
  it('reads a few index entries, not every entry of the queue, once the table has grown', async () => {
    // Claims while the table is small: what a new deployment's first jobs do.
    for (let i = 0; i < 8; i++) {
      await boss.send(ANALYSIS_QUEUE, { jobId: `small-${i}` });
      const [job] = await boss.fetch(ANALYSIS_QUEUE);
      await boss.complete(ANALYSIS_QUEUE, job!.id);
    }
    // A day of completed entries, as pg-boss keeps them.
    await stats.query(
      `insert into pgboss.job_common (name, data, state, policy, started_on, completed_on)
       select $1, jsonb_build_object('jobId', 'done-' || g), 'completed', 'standard', now(), now()
         from generate_series(1, 5000) g`,
      [ANALYSIS_QUEUE],
    );
    await boss.send(ANALYSIS_QUEUE, { jobId: 'next' });

    const before = await indexEntriesRead();
    const [job] = await boss.fetch(ANALYSIS_QUEUE);
    const read = (await indexEntriesRead()) - before;

    expect(job?.data).toEqual({ jobId: 'next' });
    // Planned for the table as it is: the waiting entry found by its index, then its row
    // by its key (a handful of entries). The plan made on the small table read all 5,008.
    expect(read).toBeLessThan(100);
  });
});
