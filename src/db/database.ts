import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';

// int8 (row counts, byte sizes) as JS numbers: exact up to 2^53, far beyond any upload we accept.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface Db {
  pool: pg.Pool;
  kysely: Kysely<Database>;
  close(): Promise<void>;
}

export function createDb(
  connectionString: string,
  opts: { max?: number; applicationName?: string; onError?: (error: Error) => void } = {},
): Db {
  const pool = new pg.Pool({
    connectionString,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? 'tally',
    // Fail fast while the database is away instead of queueing requests behind dead sockets.
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client whose server went away emits 'error' on the pool; without a listener
  // that would crash the process. The next checkout reconnects.
  pool.on('error', (error) => opts.onError?.(error));
  // pg-pool listens for errors only on idle clients. A client checked out by kysely (in a
  // query or a transaction) whose connection is cut emits 'error' with no listener, which
  // would crash the process; the query itself still rejects, so logging here is enough.
  pool.on('connect', (client) => client.on('error', (error) => opts.onError?.(error)));
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    pool,
    kysely,
    // kysely.destroy() ends the pool it was given.
    close: () => kysely.destroy(),
  };
}
