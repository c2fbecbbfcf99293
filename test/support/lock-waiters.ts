import type pg from 'pg';

/**
 * How many sessions of this database wait on a lock right now: poll it to know that a
 * request has reached a lock the test holds, rather than sleeping and hoping.
 */
export async function lockWaiters(sql: pg.Pool): Promise<number> {
  const { rows } = await sql.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock'`,
  );
  return rows[0]!.n;
}
