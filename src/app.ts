import type { FastifyInstance } from 'fastify';
import type { PgBoss } from 'pg-boss';
import { buildServer } from './api/server.ts';
import { JobChangeListener } from './api/job-change-listener.ts';
import { prepareSpoolDir } from './api/upload/spool-dir.ts';
import { prepareSpillDir } from './analysis/spill/spill-dir.ts';
import type { Config } from './config.ts';
import { createDb, type Db } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import type { Logger } from './logger.ts';
import { metricsPlugin } from './observability/metrics-plugin.ts';
import { startMetricsServer, type MetricsServer } from './observability/metrics-server.ts';
import { startBoss } from './queue/boss.ts';
import type { WorkerHooks } from './worker/run-analysis-job.ts';
import { startMaintenance, type Maintenance } from './worker/maintenance.ts';
import { startWorkers } from './worker/start-workers.ts';

export type Role = 'all' | 'api' | 'worker';

export interface Tally {
  /** Where the API listens (undefined for a worker-only process). */
  url: string | undefined;
  db: Db;
  boss: PgBoss;
  app: FastifyInstance | undefined;
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
  /** Extra Fastify plugins (the web UI). */
  plugins?: ((app: FastifyInstance) => void | Promise<void>)[];
}

/** Starts the API, the workers, or both, against one PostgreSQL. */
export async function startTally(opts: StartOptions): Promise<Tally> {
  const { config, log, role } = opts;
  const runsApi = role !== 'worker';
  const runsWorkers = role !== 'api';
  const db = createDb(opts.databaseUrl, {
    max: config.DB_POOL_MAX,
    applicationName: `tally-${role}`,
    onError: (error) => log.warn({ err: error }, 'idle database connection lost'),
  });
  await migrateToLatest(db.kysely, log);
  const boss = await startBoss(
    opts.databaseUrl,
    {
      heartbeatSeconds: config.JOB_HEARTBEAT_SECONDS,
      expireInSeconds: config.JOB_EXPIRE_SECONDS,
      retryLimit: config.JOB_RETRY_LIMIT,
      supervise: true,
    },
    log,
  );

  let draining = false;
  let changes: JobChangeListener | undefined;
  let api: Awaited<ReturnType<typeof buildServer>> | undefined;
  let url: string | undefined;
  if (runsApi) {
    await prepareSpoolDir(config.SPOOL_DIR, log);
    changes = new JobChangeListener(opts.databaseUrl, log);
    await changes.start();
    api = await buildServer({
      config,
      db,
      boss,
      changes,
      log,
      plugins: [metricsPlugin(db, () => draining), ...(opts.plugins ?? [])],
    });
    url = await api.app.listen({ host: config.HOST, port: config.PORT });
  }
  let maintenance: Maintenance | undefined;
  if (runsWorkers) {
    await prepareSpillDir(config.SPILL_DIR, log);
    maintenance = startMaintenance({ db, log, fileRetentionHours: config.FILE_RETENTION_HOURS });
    await startWorkers(
      boss,
      {
        db,
        log: log.child({ component: 'worker' }),
        retryLimit: config.JOB_RETRY_LIMIT,
        maxRecordBytes: config.MAX_RECORD_BYTES,
        maxDecompressedBytes: config.MAX_DECOMPRESSED_BYTES,
        spill: {
          dir: config.SPILL_DIR,
          thresholdKeys: config.SPILL_THRESHOLD_KEYS,
          maxBytes: config.SPILL_MAX_BYTES,
        },
        ...(opts.workerHooks ? { hooks: opts.workerHooks } : {}),
      },
      config.WORKER_CONCURRENCY,
    );
  }
  // A worker-only process has no HTTP server; METRICS_PORT gives it /metrics and /readyz.
  let metricsServer: MetricsServer | undefined;
  if (!runsApi && config.METRICS_PORT !== undefined)
    metricsServer = await startMetricsServer(db, config.HOST, config.METRICS_PORT, log);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      draining = true;
      api?.stopAccepting();
      maintenance?.stop();
      // Stop claiming and let running jobs finish within the grace period; pg-boss hands
      // whatever is still running back to the queue when it stops.
      const stopBoss = boss.stop({ graceful: true, timeout: config.SHUTDOWN_GRACE_MS, close: true });
      await api?.app.close(); // waits for in-flight requests (uploads) to end
      await changes?.close();
      await stopBoss;
      await metricsServer?.close();
      await db.close();
    })());

  return { url, db, boss, app: api?.app, maintenance, close };
}
