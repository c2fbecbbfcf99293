import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from 'kysely';
import pg from 'pg';
import type { Logger } from '../logger.ts';
import { PlanFunctions } from '../lib/plan-functions.ts';
import type { Database } from './schema.ts';
import { processStatementNames, withStatementName, type StatementNames } from '../lib/statement-names.ts';
import { isConnectionDiscardError, isStalePlanError } from './transient-errors.ts';

// int8 (row counts, byte sizes) as JS numbers: exact up to 2^53, far beyond any upload we accept.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/** One statement for `Db.query`: `name` makes it a prepared statement where sessions allow. */
export interface Statement {
  name: string;
  text: string;
  values: unknown[];
}

export interface Db {
  pool: pg.Pool;
  kysely: Kysely<Database>;
  /**
   * True when the pool reaches PostgreSQL through a pooler in transaction mode (PgBouncer,
   * Supavisor): nothing of a session survives a transaction (docs/operations.md, "Poolers").
   */
  transactionPooled: boolean;
  /**
   * A hot statement outside the query builder: a named prepared statement (parsed and planned
   * once per connection) on a direct connection, an unnamed one behind a transaction pooler,
   * where the next statement may land on a server connection that never saw the PREPARE.
   */
  query<R extends pg.QueryResultRow>(statement: Statement): Promise<pg.QueryResult<R>>;
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
  /** The URL is a transaction-mode pooler: see `Db.transactionPooled`. */
  transactionPooled?: boolean;
  /**
   * Behind a transaction pooler, with a logger to warn on: statements sent again and again
   * keep their plan in a function each (lib/plan-functions.ts).
   */
  log?: Logger;
}

export function createDb(connectionString: string, opts: DbOptions = {}): Db {
  const transactionPooled = opts.transactionPooled ?? false;
  const timeoutMs = opts.statementTimeoutMs ?? 0;
  const pool: pg.Pool = new pg.Pool({
    connectionString,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? 'tally',
    // Fail fast while the database is away instead of queueing requests behind dead sockets.
    connectionTimeoutMillis: opts.connectionTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
    Client: discardingClient(
      (client) => retireOnRelease(pool, client),
      transactionPooled ? undefined : processStatementNames,
      // Definitions go as query configs, which the clients pass through unrouted.
      transactionPooled && opts.log
        ? new PlanFunctions((text, values): Promise<pg.QueryResult> => pool.query({ text, values }), opts.log)
        : undefined,
    ),
    // Sent in the startup packet on a direct connection. PgBouncer 1.18 refuses a startup
    // parameter it does not know ("unsupported startup parameter: statement_timeout") and a
    // pooled session is not ours to SET anyway: behind a pooler the limit is a SET LOCAL in
    // each statement's own transaction (localTimeoutPool below).
    ...(timeoutMs && !transactionPooled ? { statement_timeout: timeoutMs } : {}),
  });
  // An idle client whose server went away emits 'error' on the pool; without a listener
  // that would crash the process. The next checkout reconnects.
  pool.on('error', (error) => opts.onError?.(error));
  // pg-pool listens for errors only on idle clients. A client checked out by kysely (in a
  // query or a transaction) whose connection is cut emits 'error' with no listener, which
  // would crash the process; the query itself still rejects, so logging here is enough.
  pool.on('connect', (client) => client.on('error', (error) => opts.onError?.(error)));
  const kyselyPool: PostgresPool = timeoutMs && transactionPooled ? localTimeoutPool(pool, timeoutMs) : pool;
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool: kyselyPool }) });
  return {
    pool,
    kysely,
    transactionPooled,
    query: async <R extends pg.QueryResultRow>(statement: Statement) => {
      if (!transactionPooled) return pool.query<R>(statement);
      const client = await kyselyPool.connect();
      try {
        return (await client.query<R>(statement.text, statement.values)) as pg.QueryResult<R>;
      } finally {
        client.release();
      }
    },
    // kysely.destroy() ends the pool it was given.
    close: () => kysely.destroy(),
  };
}

/**
 * A pg.Client that reports a statement failing with a SQLSTATE after which the connection is
 * no use (a demoted primary's 25006, 57P01, 08006: transient-errors.ts). Only promise-style
 * queries are watched: pg-pool's own `pool.query` already drops a client on any error, and
 * COPY streams release with their error (file-chunks.ts). With `names`, a statement the
 * process sends again and again goes as a named prepared statement (statement-names.ts);
 * with `plans` (behind a transaction pooler), through a function (lib/plan-functions.ts).
 */
function discardingClient(
  onDiscard: (client: pg.Client) => void,
  names: StatementNames | undefined,
  plans: PlanFunctions | undefined,
): typeof pg.Client {
  return class DiscardingClient extends pg.Client {
    // pg's query() has a dozen overloads; this passes every other call through unchanged.
    override query(...args: unknown[]): never {
      const call = names ? withStatementName(names, args) : args;
      const [text, values] = args;
      const result =
        plans && args.length === 2 && typeof text === 'string' && Array.isArray(values) && values.length > 0
          ? plans.run(
              text,
              values,
              (t, v) => super.query(t, v),
              // A failed call in a transaction aborted it: the text cannot follow.
              this.getTransactionStatus() === 'I',
            )
          : (super.query as (...a: unknown[]) => unknown)(...call);
      if (result instanceof Promise)
        result.catch((error: unknown) => {
          // A prepared statement whose table changed its columns under it (a rolling deploy's
          // migration) fails on this connection for as long as the connection keeps it.
          if (isConnectionDiscardError(error) || (names && isStalePlanError(error))) onDiscard(this);
        });
      return result as never;
    }
  };
}

/**
 * Lets the client finish what it is doing (kysely rolls its transaction back on it) and then
 * removes it from the pool on release instead of keeping it idle. pg-pool's own set for
 * clients past `maxLifetimeSeconds` does exactly that; it is not public API, so a pg-pool
 * that drops it falls back to marking the client unusable (its next query fails as a
 * connection error, which is transient as well). test/db/discard-connections.test.ts checks
 * that a connection that answered 25006 is gone after release.
 */
function retireOnRelease(pool: pg.Pool, client: pg.Client): void {
  const expired = (pool as unknown as { _expired?: unknown })._expired;
  if (expired instanceof WeakSet || expired instanceof Set) expired.add(client);
  else (client as unknown as { _queryable: boolean })._queryable = false;
}

/**
 * Behind a transaction pooler, `statement_timeout` as a SET LOCAL at the start of every
 * transaction, and every statement outside one run inside one of its own. That costs two
 * extra round trips per standalone statement (`begin; set local …` and `commit`), paid only
 * on the pools that carry a timeout (requests and probes), only behind a pooler.
 */
function localTimeoutPool(pool: pg.Pool, timeoutMs: number): PostgresPool {
  const setLocal = `set local statement_timeout = ${Math.trunc(timeoutMs)}`;
  // One wrapper per pg client, so kysely (which keys its connections by client) sees the same one.
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    let inTransaction = false;
    const run = (text: string, values?: readonly unknown[]) => client.query(text, values as unknown[]);
    const query = async (text: string, values: readonly unknown[]) => {
      const verb = /^\s*(\w+)(\s+to\b)?/i.exec(text);
      const word = verb?.[1]?.toLowerCase();
      if (word === 'begin' || word === 'start') {
        // No bind parameters: begin and SET LOCAL go as one simple-protocol round trip.
        const [began] = (await client.query(`${text}; ${setLocal}`)) as unknown as pg.QueryResult[];
        inTransaction = true;
        return began!;
      }
      if (inTransaction) {
        if (word === 'commit' || word === 'end' || (word === 'rollback' && !verb?.[2])) inTransaction = false;
        return run(text, values);
      }
      await client.query(`begin; ${setLocal}`);
      try {
        const result = await run(text, values);
        await client.query('commit');
        return result;
      } catch (error) {
        await client.query('rollback').catch(() => undefined);
        throw error;
      }
    };
    return {
      query: query as unknown as PostgresPoolClient['query'],
      release: () => {
        inTransaction = false;
        client.release();
      },
    };
  };
  return {
    options: pool.options,
    connect: async () => {
      const client = await pool.connect();
      let wrapped = wrappers.get(client);
      if (!wrapped) wrappers.set(client, (wrapped = wrap(client)));
      return wrapped;
    },
    end: () => pool.end(),
  };
}

/**
 * The connection /healthz and /readyz use, apart from the request pool: with every request
 * connection busy (a locked `jobs` table, a flood) the probe still asks PostgreSQL itself,
 * so "database unreachable" means exactly that (it once said so with the database up
 * and 14 requests queued). One connection, short timeouts: a probe that waits is a probe
 * that lies.
 */
export function createHealthDb(
  connectionString: string,
  onError?: (error: Error) => void,
  transactionPooled = false,
): Db {
  return createDb(connectionString, {
    max: 1,
    applicationName: 'tally-health',
    statementTimeoutMs: 2_000,
    connectionTimeoutMs: 2_000,
    transactionPooled,
    ...(onError ? { onError } : {}),
  });
}
