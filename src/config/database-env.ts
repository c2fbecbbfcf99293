import { z } from 'zod';
import { intFromEnv } from './env-values.ts';

const postgresUrl = z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL');

/** The database: where it is, how it is reached, how many connections. */
export const databaseEnv = {
  DATABASE_URL: postgresUrl.optional(),
  /**
   * v1.2: a direct or session-mode connection for LISTEN and what else needs a session
   * (migrations' lock, pg-boss's LISTEN). Default: DATABASE_URL. Set it when DATABASE_URL is a
   * pooler in transaction mode.
   */
  LISTEN_DATABASE_URL: postgresUrl.optional(),
  /**
   * `transaction`: DATABASE_URL is a pooler in transaction mode (no named prepared statements,
   * statement limits as SET LOCAL). Default: `transaction` when LISTEN_DATABASE_URL is set to
   * another URL than DATABASE_URL, else `session`.
   */
  DATABASE_POOL_MODE: z.enum(['session', 'transaction']).optional(),
  DB_POOL_MAX: intFromEnv(10, 1, 1000),
  /** Longest statement a request may run, lock waits included; past it the request gets 503. 0: no limit. */
  DB_STATEMENT_TIMEOUT_MS: intFromEnv(5000, 0),
  DATA_DIR: z.string().min(1).default('.data'),
};
