import type { PgBoss } from 'pg-boss';
import type { Db } from '../db/database.ts';
import type { DatabaseUrls } from '../db/database-urls.ts';
import type { StoredFiles } from '../files/stored-files.ts';
import type { Logger } from '../logger.ts';
import type { ClaimExtensions } from '../queue/claim-extension.ts';
import type { SettledAhead } from '../queue/settled-ahead.ts';

/** What the API and worker roles of one process share (made by startTally in src/app.ts). */
export interface SharedParts {
  urls: DatabaseUrls;
  /** The pool uploads and workers write with. */
  db: Db;
  /** Connections each role's own pools take at most (DB_POOL_MAX). */
  poolMax: number;
  boss: PgBoss;
  /** Work that rides in pg-boss's claims (the worker role's attempt starts). */
  claims: ClaimExtensions;
  /** pg-boss entries the worker role completes in its own final statement. */
  settledAhead: SettledAhead;
  files: StoredFiles;
  log: Logger;
  /** True once the process drains. */
  isDraining: () => boolean;
  /**
   * Stops pg-boss: no more claims, running jobs finish within the grace period or go back
   * to the queue. Idempotent: whichever role asks first starts it.
   */
  stopQueue: () => Promise<void>;
}

/** A started role: `close` ends what it started (not the shared parts). */
export interface RoleHandle {
  close(): Promise<void>;
}

/** Each role's probes get their own connection: they must tell the truth while requests queue. */
export function onIdleConnectionLost(log: Logger) {
  return (error: Error) => log.warn({ err: error }, 'idle database connection lost');
}
