/**
 * Errors that mean "the database is away for now", not "this request is wrong": a
 * connection cut (pg_terminate_backend, restart, failover), refused, or timed out, or a
 * primary that turned read-only under us. They map to 503 for clients, who retry, and to a
 * retry for workers.
 */
const TRANSIENT_SQLSTATES = new Set([
  '25006', // read_only_sql_transaction: a demoted primary (or a standby) behind the old address
  '57P01', // admin_shutdown (pg_terminate_backend, a fast shutdown before a failover)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, or in recovery)
  '08000', // connection_exception
  '08003', // connection_does_not_exist
  '08006', // connection_failure
  '08001', // sqlclient_unable_to_establish_sqlconnection
  '08004', // sqlserver_rejected_establishment_of_sqlconnection
  '53300', // too_many_connections
]);

/**
 * The subset after which the connection itself is no use: the server behind it is gone,
 * going, or read-only. Pools drop such a connection when it is released instead of handing
 * it out again (src/db/database.ts): a demoted primary keeps answering 25006 on every old
 * connection for as long as they live, so "retry on the same connection" would fail forever
 * while a new connection, through the switched address, reaches the new primary.
 */
const DISCARD_SQLSTATES = new Set(['25006', '57P01', '57P02', '57P03', '08000', '08003', '08006']);

const TRANSIENT_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const TRANSIENT_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i;

export function isTransientDbError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (TRANSIENT_SQLSTATES.has(code) || TRANSIENT_NODE_CODES.has(code)))
      return true;
    if (e instanceof Error && TRANSIENT_MESSAGES.test(e.message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** True when the connection that raised `error` must not be reused (see DISCARD_SQLSTATES). */
export function isConnectionDiscardError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && DISCARD_SQLSTATES.has(code);
}

/**
 * A named prepared statement whose result columns changed since it was prepared (a migration
 * added a column to a table it selects `*` from): PostgreSQL answers 0A000 "cached plan must
 * not change result type" every time it is run on that connection again.
 */
export function isStalePlanError(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  return e?.code === '0A000' && typeof e.message === 'string' && e.message.includes('cached plan');
}
