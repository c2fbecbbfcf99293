import { PgBoss } from 'pg-boss';
import type { StatementNames } from '../lib/statement-names.ts';
import type { Logger } from '../logger.ts';
import { TallyBossDb } from './boss-db.ts';
import type { ClaimExtensions } from './claim-extension.ts';
import type { SettledAhead } from './settled-ahead.ts';
import { SplitListenDb } from './split-listen-db.ts';

export const ANALYSIS_QUEUE = 'tally-analysis';
/** Parts of one big file analysed by every worker at once (worker/split/). */
export const ANALYSIS_PART_QUEUE = 'tally-analysis-part';
export const BOSS_SCHEMA = 'pgboss';

/** What travels through pg-boss: only the id. Our `jobs` row is the record of everything else. */
export interface AnalysisJobData {
  jobId: string;
  /** The upload request's id (Fastify's reqId): worker logs carry it next to jobId. */
  requestId?: string;
}

export interface BossSettings {
  heartbeatSeconds: number;
  expireInSeconds: number;
  retryLimit: number;
  /** Run pg-boss maintenance (expiry, retention) from this instance. */
  supervise: boolean;
  poolMax?: number;
  /**
   * v1.2: where pg-boss LISTENs when DATABASE_URL is a transaction pooler
   * (LISTEN_DATABASE_URL). Unset or equal to the connection string: pg-boss's own pool.
   */
  listenConnectionString?: string;
  /** Work that rides in pg-boss's claims (worker/start-on-claim.ts registers the attempt's start). */
  claims?: ClaimExtensions;
  /** Entries the worker completes in its own final statement (worker/run-analysis-job.ts). */
  settledAhead?: SettledAhead;
  /**
   * Set behind a transaction pooler (where `statementNames` is not): repeated statements keep
   * their plan in a function each (lib/plan-functions.ts), warning here when they cannot.
   */
  plansLog?: Logger;
  /**
   * Names for pg-boss's repeated statements (prepared once per connection). Only where the
   * connection string keeps sessions: unset behind a transaction pooler.
   */
  statementNames?: StatementNames;
}

/**
 * One pg-boss instance per process. LISTEN/NOTIFY is on so a worker starts a new job
 * within milliseconds of the upload's commit instead of at its next poll; polling stays
 * as the floor if the listener connection drops.
 */
export async function startBoss(
  connectionString: string,
  settings: BossSettings,
  log: Logger,
): Promise<PgBoss> {
  const connection = {
    connectionString,
    application_name: 'tally-boss',
    max: settings.poolMax ?? 4,
  };
  const listenUrl = settings.listenConnectionString;
  const boss = new PgBoss({
    db:
      listenUrl && listenUrl !== connectionString
        ? new SplitListenDb(connection, listenUrl, {
            claims: settings.claims,
            plansLog: settings.plansLog,
            settledAhead: settings.settledAhead,
          })
        : new TallyBossDb(connection, {
            claims: settings.claims,
            names: settings.statementNames,
            plansLog: settings.plansLog,
            settledAhead: settings.settledAhead,
          }),
    schema: BOSS_SCHEMA,
    useListenNotify: true,
    supervise: settings.supervise,
    // Heartbeat-lost and expired jobs are failed (and retried) by the queue monitor, which
    // runs at most every monitorIntervalSeconds (default 60). Measured: a kill -9'd worker's
    // job came back after 71 s with the defaults; with 5 s it is heartbeat + ≤ 5 s + retry delay.
    superviseIntervalSeconds: 5,
    monitorIntervalSeconds: 5,
    migrate: true,
    schedule: false,
    // Traces (docs/reference.md, "Where bytes live, webhooks, traces"): the upload's trace context is stored on the job so the worker's
    // attempt continues it. Without an OpenTelemetry SDK registered nothing is stored.
    openTelemetry: { propagateContext: true },
  });
  boss.on('error', (error) => log.error({ err: error }, 'pg-boss error'));
  boss.on('warning', (warning) => log.warn({ warning }, 'pg-boss warning'));
  await boss.start();
  const queueOptions = {
    notify: true,
    heartbeatSeconds: settings.heartbeatSeconds,
    expireInSeconds: settings.expireInSeconds,
    retryLimit: settings.retryLimit,
    retryDelay: 2,
    retryBackoff: true,
    retryDelayMax: 60,
    // pg-boss rows are transport: our jobs table is the record, so finished rows can go soon.
    deleteAfterSeconds: 24 * 3600,
  };
  for (const name of [ANALYSIS_QUEUE, ANALYSIS_PART_QUEUE]) {
    if (await boss.getQueue(name)) await boss.updateQueue(name, queueOptions);
    else await boss.createQueue(name, queueOptions);
  }
  return boss;
}
