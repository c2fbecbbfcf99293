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

export interface DbOptions {
  max?: number;
  applicationName?: string;
  onError?: (error: Error) => void;
  /**
   * PostgreSQL `statement_timeout` for every statement on this pool (0: none). Lock waits
   * count: a request behind a locked `jobs` table fails with 57014 after this long (a 503
   * to the client) instead of holding its connection forever.
   */
  statementTimeoutMs?: number;
  /** How long to wait for a connection, new or from the pool's queue, before failing. */
  connectionTimeoutMs?: number;
}

export function createDb(connectionString: string, opts: DbOptions = {}): Db {
  const pool = new pg.Pool({
    connectionString,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? 'tally',
    // Fail fast while the database is away instead of queueing requests behind dead sockets.
    connectionTimeoutMillis: opts.connectionTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
    ...(opts.statementTimeoutMs ? { statement_timeout: opts.statementTimeoutMs } : {}),
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

/**
 * The connection /healthz and /readyz use, apart from the request pool: with every request
 * connection busy (a locked `jobs` table, a flood) the probe still asks PostgreSQL itself,
 * so "database unreachable" means exactly that (issue 14: it said so with the database up
 * and 14 requests queued). One connection, short timeouts: a probe that waits is a probe
 * that lies.
 */
export function createHealthDb(connectionString: string, onError?: (error: Error) => void): Db {
  return createDb(connectionString, {
    max: 1,
    applicationName: 'tally-health',
    statementTimeoutMs: 2_000,
    connectionTimeoutMs: 2_000,
    ...(onError ? { onError } : {}),
  });
}
