import type { FastifyInstance } from 'fastify';
import type { PgBoss } from 'pg-boss';
import type { ApiHooks } from './api/api-hooks.ts';
import type { JobChangeListener } from './api/job-change-listener.ts';
import type { Config } from './config.ts';
import { createDb, type Db } from './db/database.ts';
import { databaseUrls } from './db/database-urls.ts';
import { migrateOverSession } from './db/migrate.ts';
import { processStatementNames } from './lib/statement-names.ts';
import { createStoredFiles } from './files/create-stored-files.ts';
import type { StoredFiles } from './files/stored-files.ts';
import type { Logger } from './logger.ts';
import { startBoss } from './queue/boss.ts';
import { ClaimExtensions } from './queue/claim-extension.ts';
import { SettledAhead } from './queue/settled-ahead.ts';
import { startApiRole, type ApiRole } from './roles/api-role.ts';
import { apiRoleOptions, storedFilesOptions, workerRoleOptions } from './roles/role-options.ts';
import { onIdleConnectionLost, type SharedParts } from './roles/shared.ts';
import { startWorkerRole, type WorkerRole } from './roles/worker-role.ts';
import type { WorkerHooks } from './worker/run-analysis-job.ts';
import { sweepOrphanedUploads, type Maintenance } from './worker/maintenance.ts';

export type Role = 'all' | 'api' | 'worker';

export interface Tally {
  /** Where the API listens (undefined for a worker-only process). */
  url: string | undefined;
  db: Db;
  boss: PgBoss;
  /** Where uploaded bytes live (FILE_STORE). */
  files: StoredFiles;
  app: FastifyInstance | undefined;
  /** The API's LISTEN connection (undefined for a worker-only process). */
  changes: JobChangeListener | undefined;
  /** Housekeeping (file retention, abandoned jobs); undefined for an api-only process. */
  maintenance: Maintenance | undefined;
  /** Graceful stop: no new uploads or claims, running jobs finish or return to the queue. */
  close(): Promise<void>;
}

export interface StartOptions {
  role: Role;
  config: Config;
  databaseUrl: string;
  log: Logger;
  /** Fault-injection hooks for tests. */
  workerHooks?: WorkerHooks;
  apiHooks?: ApiHooks;
  /** Extra Fastify plugins (the web UI), each registered with `app.register`. */
  plugins?: ((app: FastifyInstance) => void | Promise<void>)[];
}

/**
 * Starts the API role, the worker role, or both, against one PostgreSQL: the parts they
 * share first (the pool, migrations, the stored bytes, pg-boss), then each role with its
 * options translated from the configuration here, at the edge.
 */
export async function startTally(opts: StartOptions): Promise<Tally> {
  const { config, role } = opts;
  let draining = false;
  const shared = await startSharedParts(opts, () => draining);
  const api: ApiRole | undefined =
    role === 'worker'
      ? undefined
      : await startApiRole(shared, {
          ...apiRoleOptions(config),
          hooks: opts.apiHooks,
          plugins: opts.plugins,
        });
  const workerOptions = workerRoleOptions(config, role === 'worker');
  if (opts.workerHooks) workerOptions.analysis.hooks = opts.workerHooks;
  const worker: WorkerRole | undefined =
    role === 'api' ? undefined : await startWorkerRole(shared, workerOptions);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // New requests now get 503 and /readyz says so; housekeeping stops and pg-boss stops
      // claiming at once (the worker role's close starts it), while the API keeps answering
      // 503 until its in-flight requests end.
      draining = true;
      const roles = [worker?.close(), api?.close()];
      const queueStopped = shared.stopQueue();
      for (const role of roles) await role;
      await queueStopped;
      await shared.db.close();
    })());

  const { db, boss, files } = shared;
  return {
    url: api?.url,
    db,
    boss,
    files,
    app: api?.app,
    changes: api?.changes,
    maintenance: worker?.maintenance,
    close,
  };
}

/** The pool, migrations, the stored bytes (and the sweep of a killed predecessor's), pg-boss. */
async function startSharedParts(opts: StartOptions, isDraining: () => boolean): Promise<SharedParts> {
  const { config, log } = opts;
  // DATABASE_URL may be a transaction pooler; LISTEN and migrations' lock go to the session URL.
  const urls = databaseUrls(
    { listenUrl: config.LISTEN_DATABASE_URL, poolMode: config.DATABASE_POOL_MODE },
    opts.databaseUrl,
  );
  const db = createDb(urls.pooled, {
    max: config.DB_POOL_MAX,
    applicationName: `tally-${opts.role}`,
    transactionPooled: urls.transactionPooled,
    onError: onIdleConnectionLost(log),
    log,
  });
  await migrateOverSession(urls.session, log);
  const files = createStoredFiles(storedFilesOptions(config), { db, log });
  // Staged bytes of uploads that died with this host's previous process (kill -9).
  await sweepOrphanedUploads({ files, log });
  const claims = new ClaimExtensions();
  const settledAhead = new SettledAhead();
  const boss = await startBoss(
    urls.pooled,
    {
      claims,
      settledAhead,
      heartbeatSeconds: config.JOB_HEARTBEAT_SECONDS,
      expireInSeconds: config.JOB_EXPIRE_SECONDS,
      retryLimit: config.JOB_RETRY_LIMIT,
      supervise: true,
      listenConnectionString: urls.session,
      statementNames: urls.transactionPooled ? undefined : processStatementNames,
      plansLog: urls.transactionPooled ? log : undefined,
    },
    log,
  );
  let stopped: Promise<void> | undefined;
  const stopQueue = () =>
    (stopped ??= boss.stop({ graceful: true, timeout: config.SHUTDOWN_GRACE_MS, close: true }));
  return {
    urls,
    db,
    poolMax: config.DB_POOL_MAX,
    boss,
    claims,
    settledAhead,
    files,
    log,
    isDraining,
    stopQueue,
  };
}
