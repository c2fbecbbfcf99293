import type { Config } from '../config.ts';

/** Where each kind of connection goes (CONTRACT §1 v1.2). */
export interface DatabaseUrls {
  /** Pools: requests, workers, pg-boss's statements. May be a transaction pooler. */
  pooled: string;
  /** LISTEN and anything else that needs a session (migrations' lock). */
  session: string;
  /** `pooled` is a pooler in transaction mode: no session state may be relied on there. */
  transactionPooled: boolean;
}

export function databaseUrls(config: Config, databaseUrl: string): DatabaseUrls {
  const session = config.LISTEN_DATABASE_URL ?? databaseUrl;
  const transactionPooled =
    config.DATABASE_POOL_MODE === undefined
      ? session !== databaseUrl
      : config.DATABASE_POOL_MODE === 'transaction';
  return { pooled: databaseUrl, session, transactionPooled };
}
