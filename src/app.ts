import type { FastifyInstance } from 'fastify';
import type { PgBoss } from 'pg-boss';
import type { ApiHooks } from './api/api-hooks.ts';
import { buildServer, type ApiServer } from './api/server.ts';
import { JobChangeListener } from './api/job-change-listener.ts';
import { prepareSpillDir } from './analysis/spill/spill-dir.ts';
import type { Config } from './config.ts';
import { createDb, createHealthDb, type Db } from './db/database.ts';
import { databaseUrls } from './db/database-urls.ts';
import { migrateOverSession } from './db/migrate.ts';
import { createStoredFiles, storedFilesOptions } from './files/create-stored-files.ts';
import type { StoredFiles } from './files/stored-files.ts';
import type { Logger } from './logger.ts';
import { startMetricsServer, type MetricsServer } from './observability/metrics-server.ts';
import { startBoss } from './queue/boss.ts';
import type { WorkerHooks } from './worker/run-analysis-job.ts';
import { startMaintenance, sweepOrphanedUploads, type Maintenance } from './worker/maintenance.ts';
import { startWorkers } from './worker/start-workers.ts';
import { startWebhooks, type Webhooks } from './webhooks/start-webhooks.ts';

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

/** Starts the API, the workers, or both, against one PostgreSQL. */
export async function startTally(opts: StartOptions): Promise<Tally> {
  const { config, log, role } = opts;
  const runsApi = role !== 'worker';
  const runsWorkers = role !== 'api';
  // v1.2: DATABASE_URL may be a transaction pooler; LISTEN and migrations' lock go to the session URL.
  const urls = databaseUrls(config, opts.databaseUrl);
  const db = createDb(opts.databaseUrl, {
    max: config.DB_POOL_MAX,
    applicationName: `tally-${role}`,
    transactionPooled: urls.transactionPooled,
    onError: (error) => log.warn({ err: error }, 'idle database connection lost'),
  });
  await migrateOverSession(urls.session, log);
  const files = createStoredFiles(storedFilesOptions(config), { db, log });
  // Staged bytes of uploads that died with this host's previous process (kill -9).
  await sweepOrphanedUploads({ files, log });
  const boss = await startBoss(
    opts.databaseUrl,
    {
      heartbeatSeconds: config.JOB_HEARTBEAT_SECONDS,
      expireInSeconds: config.JOB_EXPIRE_SECONDS,
      retryLimit: config.JOB_RETRY_LIMIT,
      supervise: true,
      listenConnectionString: urls.session,
    },
    log,
  );

  let draining = false;
  const isDraining = () => draining;
  const onDbError = (error: Error) => log.warn({ err: error }, 'idle database connection lost');
  // Probes get their own connection: they must tell the truth while requests queue.
  const healthDb =
    runsApi || config.METRICS_PORT !== undefined
      ? createHealthDb(opts.databaseUrl, onDbError, urls.transactionPooled)
      : undefined;
  let changes: JobChangeListener | undefined;
  let requestDb: Db | undefined;
  let api: ApiServer | undefined;
  let url: string | undefined;
  if (runsApi && healthDb) {
    changes = new JobChangeListener(urls.session, log);
    await changes.start();
    // tRPC's statements end after DB_STATEMENT_TIMEOUT_MS (a 503), so a locked table
    // cannot hold requests forever. A pool of their own: the workers' and the uploads'
    // long statements (a result, a stored file) are not requests to cut short.
    requestDb = createDb(opts.databaseUrl, {
      max: config.DB_POOL_MAX,
      applicationName: 'tally-requests',
      statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
      transactionPooled: urls.transactionPooled,
      onError: onDbError,
    });
    api = await buildServer({
      config,
      db,
      requestDb,
      healthDb,
      boss,
      files,
      changes,
      log,
      isDraining,
      ...(opts.apiHooks ? { hooks: opts.apiHooks } : {}),
      plugins: opts.plugins ?? [],
    });
    url = await api.app.listen({ host: config.HOST, port: config.PORT });
  }
  let maintenance: Maintenance | undefined;
  let webhooks: Webhooks | undefined;
  if (runsWorkers) {
    await prepareSpillDir(config.SPILL_DIR, log);
    maintenance = startMaintenance({
      db,
      log,
      files,
      fileRetentionHours: config.FILE_RETENTION_HOURS,
      boss,
      retryLimit: config.JOB_RETRY_LIMIT,
      jobRetentionDays: config.JOB_RETENTION_DAYS,
    });
    await startWorkers(
      boss,
      {
        db,
        files,
        log: log.child({ component: 'worker' }),
        retryLimit: config.JOB_RETRY_LIMIT,
        maxRecordBytes: config.MAX_RECORD_BYTES,
        maxDecompressedBytes: config.MAX_DECOMPRESSED_BYTES,
        maxDecompressionRatio: config.MAX_DECOMPRESSION_RATIO,
        spill: {
          dir: config.SPILL_DIR,
          thresholdKeys: config.SPILL_THRESHOLD_KEYS,
          maxBytes: config.SPILL_MAX_BYTES,
        },
        split: { boss, minBytes: config.PARALLEL_ANALYSIS_MIN_BYTES, parts: config.PARALLEL_ANALYSIS_PARTS },
        ...(opts.workerHooks ? { hooks: opts.workerHooks } : {}),
      },
      config.WORKER_CONCURRENCY,
      config.WORKER_MAX_RUNNING_PER_OWNER,
    );
    if (config.WEBHOOK_URL !== undefined && config.WEBHOOK_SECRET !== undefined) {
      webhooks = await startWebhooks(boss, {
        db,
        log,
        settings: {
          url: config.WEBHOOK_URL,
          key: config.WEBHOOK_SECRET,
          timeoutMs: config.WEBHOOK_TIMEOUT_MS,
          retryDelaySeconds: config.WEBHOOK_RETRY_DELAY_SECONDS,
        },
      });
    }
  }
  // A worker-only process has no HTTP server; METRICS_PORT gives it /healthz, /readyz, /metrics.
  let metricsServer: MetricsServer | undefined;
  if (!runsApi && healthDb && config.METRICS_PORT !== undefined)
    metricsServer = await startMetricsServer(healthDb, config.HOST, config.METRICS_PORT, log, isDraining);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // New requests now get 503 (uploads included) and /readyz says so; waiting long
      // polls are woken and answer at once, so in-flight requests end soon.
      draining = true;
      maintenance?.stop();
      webhooks?.stop();
      await changes?.close();
      // Stop claiming and let running jobs finish within the grace period; pg-boss hands
      // whatever is still running back to the queue when it stops.
      const stopBoss = boss.stop({ graceful: true, timeout: config.SHUTDOWN_GRACE_MS, close: true });
      // Keep listening (answering 503) while in-flight requests — uploads — finish, so a
      // client arriving meanwhile is told to retry rather than refused a connection.
      if (api) await waitUntilAnswered(api, config.SHUTDOWN_GRACE_MS);
      await api?.app.close();
      await stopBoss;
      await metricsServer?.close();
      await requestDb?.close();
      await healthDb?.close();
      await db.close();
    })());

  return { url, db, boss, files, app: api?.app, changes, maintenance, close };
}

/** Resolves once every open request is answered, or after `timeoutMs`. */
async function waitUntilAnswered(api: ApiServer, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (api.openRequests() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}
