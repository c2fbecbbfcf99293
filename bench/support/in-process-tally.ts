import pg from 'pg';
import { startTally, type Tally } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import type { BenchDatabase } from './database.ts';

export interface InProcessTally {
  tally: Tally;
  /** A small pool of its own on the same database, for the bench's set-up and readings. */
  sql: pg.Pool;
  close(): Promise<void>;
}

/**
 * An all-in-one Tally in the bench's own process, on `database`, listening on a free
 * loopback port, silent; `env` adds or overrides variables as a deployment would set them.
 */
export async function startInProcessTally(
  database: BenchDatabase,
  env: Record<string, string>,
): Promise<InProcessTally> {
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: database.url,
    LOG_LEVEL: 'silent',
    ...database.env,
    ...env,
  });
  const tally = await startTally({
    role: 'all',
    config,
    databaseUrl: database.url,
    log: createLogger('silent'),
  });
  const sql = new pg.Pool({ connectionString: database.url, max: 2 });
  return {
    tally,
    sql,
    close: async () => {
      await sql.end();
      await tally.close();
    },
  };
}
