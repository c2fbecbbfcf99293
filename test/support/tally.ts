import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startTally, type Role, type Tally } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import type { ApiHooks } from '../../src/api/api-hooks.ts';
import type { WorkerHooks } from '../../src/worker/run-analysis-job.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

export interface TestTally extends Tally {
  url: string;
  database: TestDatabase;
  config: Config;
  spoolDir: string;
  /** Close the app, then drop its database. */
  stop(): Promise<void>;
}

/**
 * A real Tally (HTTP server, pg-boss, workers) on a fresh database, in this process.
 * `env` overrides configuration exactly as environment variables would.
 */
export async function startTestTally(
  opts: {
    role?: Role;
    env?: Record<string, string>;
    workerHooks?: WorkerHooks;
    apiHooks?: ApiHooks;
    database?: TestDatabase;
    /** Where log lines go (to assert on them); silent by default. */
    logStream?: NodeJS.WritableStream;
  } = {},
): Promise<TestTally> {
  const database = opts.database ?? (await createTestDatabase());
  const spoolDir = await mkdtemp(path.join(os.tmpdir(), 'tally-spool-test-'));
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    SPOOL_DIR: spoolDir,
    DATABASE_URL: database.url,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    WORKER_CONCURRENCY: '2',
    ...opts.env,
  });
  const log = createLogger(config.LOG_LEVEL, { test: true }, opts.logStream);
  const tally = await startTally({
    role: opts.role ?? 'all',
    config,
    databaseUrl: database.url,
    log,
    ...(opts.workerHooks ? { workerHooks: opts.workerHooks } : {}),
    ...(opts.apiHooks ? { apiHooks: opts.apiHooks } : {}),
  });
  let stopped = false;
  return {
    ...tally,
    url: tally.url ?? '',
    database,
    config,
    spoolDir,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await tally.close();
      if (!opts.database) await database.drop();
      await rm(spoolDir, { recursive: true, force: true });
    },
  };
}
