import { sql, type Kysely } from 'kysely';
import type { Database } from '../schema.ts';

/**
 * The owner's re-runs that are queued or running, counted inside the transaction that
 * would add one, after taking a transaction-scoped advisory lock on the owner: two
 * re-runs of one owner arriving together (on any API host) count one after the other, so
 * the cap holds exactly. Two statements, not one: a statement's snapshot is taken before
 * its lock function runs, so a count in the same statement could miss the other's commit.
 * Uploads and other owners never take this lock.
 */
export async function countRerunsInFlight(trx: Kysely<Database>, owner: string): Promise<number> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`tally-rerun:${owner}`}, 0))`.execute(trx);
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from jobs
     where owner = ${owner} and rerun_of is not null and state in ('queued', 'running')
  `.execute(trx);
  return rows[0]?.n ?? 0;
}
