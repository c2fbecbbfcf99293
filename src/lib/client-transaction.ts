import type pg from 'pg';

/**
 * BEGIN, `work` on one client of `pool`, COMMIT (ROLLBACK when it throws), and the client
 * back to its pool: for a transaction that needs node-pg's client itself rather than
 * kysely's (pg-boss's pool, or a statement of pg-boss's run inside it).
 */
export async function inClientTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let result: T;
  try {
    await client.query('begin');
    result = await work(client);
    await client.query('commit');
  } catch (error) {
    // A client whose rollback failed too is in no state to reuse: released with an error,
    // pg-pool closes it instead of handing it to the next caller.
    const rolledBack = await client.query('rollback').then(
      () => true,
      () => false,
    );
    client.release(rolledBack ? undefined : new Error('rollback failed'));
    throw error;
  }
  client.release();
  return result;
}
