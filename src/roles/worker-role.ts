import { prepareSpillDir } from '../analysis/spill/spill-dir.ts';
import { createHealthDb } from '../db/database.ts';
import { cpuQuota } from '../lib/cpu-quota.ts';
import { startMetricsServer, type MetricsServer } from '../observability/metrics-server.ts';
import type { WorkerDeps } from '../worker/run-analysis-job.ts';
import { startMaintenance, type Maintenance } from '../worker/maintenance.ts';
import { startWorkers } from '../worker/start-workers.ts';
import { wakePolicy } from '../worker/wake-policy.ts';
import { startWorkerPresence } from '../worker/worker-presence.ts';
import { startWebhooks, type WebhookSettings, type Webhooks } from '../webhooks/start-webhooks.ts';
import { onIdleConnectionLost, type RoleHandle, type SharedParts } from './shared.ts';

export interface WorkerRoleOptions {
  /** What each analysis needs beyond the shared parts (limits, spilling, test hooks). */
  analysis: Omit<WorkerDeps, 'db' | 'files' | 'log' | 'split'>;
  /** PARALLEL_ANALYSIS_MIN_BYTES and PARALLEL_ANALYSIS_PARTS; unset: never split. */
  split?: { minBytes: number; parts: number | 'auto' } | undefined;
  /** WORKER_CONCURRENCY */
  concurrency: number;
  /** WORKER_MAX_RUNNING_PER_OWNER: 0 for no cap. */
  maxRunningPerOwner: number;
  /** FILE_RETENTION_HOURS */
  fileRetentionHours: number;
  /** JOB_RETENTION_DAYS */
  jobRetentionDays?: number | undefined;
  /** WEBHOOK_URL and WEBHOOK_SECRET (and their timings); unset: no webhooks. */
  webhooks?: WebhookSettings | undefined;
  /** METRICS_PORT, for a process without the API: /healthz, /readyz, /metrics on HOST. */
  metrics?: { host: string; port: number } | undefined;
}

export interface WorkerRole extends RoleHandle {
  /** Housekeeping (file retention, abandoned jobs). */
  maintenance: Maintenance;
}

/** The analysis workers, housekeeping, webhooks, and (worker-only processes) their probes. */
export async function startWorkerRole(shared: SharedParts, options: WorkerRoleOptions): Promise<WorkerRole> {
  const { db, files, log, boss } = shared;
  const spillDir = options.analysis.spill?.dir;
  if (spillDir !== undefined) await prepareSpillDir(spillDir, log);
  const maintenance = startMaintenance({
    db,
    log,
    files,
    fileRetentionHours: options.fileRetentionHours,
    boss,
    retryLimit: options.analysis.retryLimit,
    ...(options.jobRetentionDays === undefined ? {} : { jobRetentionDays: options.jobRetentionDays }),
  });
  // This process counts toward PARALLEL_ANALYSIS_PARTS=auto while it runs, and acts on new
  // jobs' NOTIFYs while the processes before it on its machine leave cores without a slot;
  // one with a CPU limit of its own (a container's) always does.
  const presence = await startWorkerPresence(db, log, {
    slots: options.concurrency,
    ...(cpuQuota() === null
      ? { onPlace: wakePolicy(shared.claims, log.child({ component: 'worker' })) }
      : {}),
  });
  await startWorkers(
    boss,
    {
      ...options.analysis,
      ...(options.split ? { split: { boss, ...options.split, liveMachines: presence.liveMachines } } : {}),
      db,
      files,
      log: log.child({ component: 'worker' }),
    },
    options.concurrency,
    options.maxRunningPerOwner,
    shared.claims,
    shared.settledAhead,
  );
  let webhooks: Webhooks | undefined;
  if (options.webhooks) webhooks = await startWebhooks(boss, { db, log, settings: options.webhooks });
  // A worker-only process has no HTTP server; METRICS_PORT gives it /healthz, /readyz, /metrics.
  let metrics: { server: MetricsServer; healthDb: ReturnType<typeof createHealthDb> } | undefined;
  if (options.metrics) {
    const healthDb = createHealthDb(
      shared.urls.pooled,
      onIdleConnectionLost(log),
      shared.urls.transactionPooled,
    );
    const { host, port } = options.metrics;
    metrics = { healthDb, server: await startMetricsServer(healthDb, host, port, log, shared.isDraining) };
  }

  const close = async () => {
    maintenance.stop();
    webhooks?.stop();
    // Stop claiming and let running jobs finish within the grace period; pg-boss hands
    // whatever is still running back to the queue when it stops.
    await shared.stopQueue();
    await presence.stop();
    await metrics?.server.close();
    await metrics?.healthDb.close();
  };
  return { maintenance, close };
}
