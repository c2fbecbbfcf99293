import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { anyTestFailed } from './failures.ts';

export interface TestDatabase {
  url: string;
  name: string;
  /** A small pool on this database for the test's own SQL, opened on first use, closed by drop. */
  readonly sql: pg.Pool;
  /** Drops the database, unless a test of this file failed: then it is kept and named on stderr. */
  drop(): Promise<void>;
}

/**
 * A fresh database for one test file, cloned from the migrated template (ours and
 * pg-boss's schema already in place).
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('adminUrl');
  const template = inject('templateDatabase');
  const name = `tally_t_${randomBytes(6).toString('hex')}`;
  await adminQuery(adminUrl, `create database ${name} template ${template}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  let pool: pg.Pool | undefined;
  return {
    url,
    name,
    get sql() {
      if (pool === undefined) {
        pool = new pg.Pool({ connectionString: url, max: 2 });
        // An idle client of this pool can be terminated under it: fault tests end backends
        // with pg_terminate_backend, and under load a file's last Tally can still be closing
        // when the database goes. pg-pool then emits 'error' on the pool, which without a
        // listener fails the whole run as an uncaught exception (57P01, seen twice at load
        // ~8); the pool replaces the client, and a query that needed it fails by itself.
        pool.on('error', () => undefined);
      }
      return pool;
    },
    drop: async () => {
      await pool?.end();
      pool = undefined;
      if (anyTestFailed()) {
        process.stderr.write(`[tally tests] a test failed: keeping database ${name} for inspection\n`);
        return;
      }
      await adminQuery(adminUrl, `drop database if exists ${name} with (force)`);
    },
  };
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
