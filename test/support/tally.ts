import type { FastifyInstance } from 'fastify';
import { afterEach } from 'vitest';
import { startTally, type Role, type Tally } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import type { ApiHooks } from '../../src/api/api-hooks.ts';
import type { WorkerHooks } from '../../src/worker/run-analysis-job.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { trackRunning } from './running-instances.ts';

export interface TestTally extends Tally {
  url: string;
  database: TestDatabase;
  config: Config;
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
    /** Extra Fastify plugins, as src/start-role.ts passes the web UI. */
    plugins?: ((app: FastifyInstance) => void | Promise<void>)[];
    /** Started in a test for the tests after it: the file's afterAll stops it (see running-instances.ts). */
    keepAfterTest?: boolean;
  } = {},
): Promise<TestTally> {
  const database = opts.database ?? (await createTestDatabase());
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
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
    ...(opts.plugins ? { plugins: opts.plugins } : {}),
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    forget();
    await tally.close();
    if (!opts.database) await database.drop();
  };
  const forget = trackRunning(
    `a Tally (${opts.role ?? 'all'}) on ${tally.url ?? 'no port'}`,
    stop,
    opts.keepAfterTest,
  );
  return {
    ...tally,
    url: tally.url ?? '',
    database,
    config,
    // A test that closes rather than stops has stopped it too.
    close: async () => {
      forget();
      await tally.close();
    },
    stop,
  };
}

/**
 * For files whose tests each start their own Tallys: a `start` like startTestTally whose
 * Tallys are stopped after each test, however it ended. Call at the top of the file.
 */
export function useTestTallies(): typeof startTestTally {
  const running: TestTally[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((t) => t.stop()));
  });
  return async (...args) => {
    const t = await startTestTally(...args);
    running.push(t);
    return t;
  };
}
