/** Where each kind of connection goes (docs/operations.md, "Poolers"). */
export interface DatabaseUrls {
  /** Pools: requests, workers, pg-boss's statements. May be a transaction pooler. */
  pooled: string;
  /** LISTEN and anything else that needs a session (migrations' lock). */
  session: string;
  /** `pooled` is a pooler in transaction mode: no session state may be relied on there. */
  transactionPooled: boolean;
}

/** LISTEN_DATABASE_URL and DATABASE_POOL_MODE, beside DATABASE_URL. */
export interface DatabaseUrlOptions {
  listenUrl: string | undefined;
  poolMode: 'session' | 'transaction' | undefined;
}

export function databaseUrls(options: DatabaseUrlOptions, databaseUrl: string): DatabaseUrls {
  const session = options.listenUrl ?? databaseUrl;
  const transactionPooled =
    options.poolMode === undefined ? session !== databaseUrl : options.poolMode === 'transaction';
  return { pooled: databaseUrl, session, transactionPooled };
}
