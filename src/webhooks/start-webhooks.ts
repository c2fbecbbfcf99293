import type { PgBoss } from 'pg-boss';
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { deliverWebhookEvents } from './deliver-event.ts';
import type { WebhookTarget } from './deliver.ts';
import { RELAY_BATCH, relayWebhookEvents } from './relay.ts';
import { ensureWebhookQueue, WEBHOOK_QUEUE, type WebhookJobData } from './webhook-queue.ts';

export interface WebhookSettings extends WebhookTarget {
  retryDelaySeconds: number;
}

export interface Webhooks {
  /** One relay pass now (tests call it instead of waiting for the timer). */
  relayOnce(): Promise<number>;
  stop(): void;
}

/** A relay pass a second: an event reaches the queue within ~1 s of its job's final state. */
const RELAY_INTERVAL_MS = 1000;
/**
 * Events a claim takes, all POSTed at once, and claims in flight per worker process: at most
 * 32 requests open to the receiver. A full batch is followed by the next claim at once; a
 * short one waits for the next poll (1 s). One event a claim, with a poll between
 * claims, delivered ~4 events a second per process: under P5's ~300 jobs/s, 40 of 4,000
 * events reached the receiver while the run lasted (bench W1, 2026-12-06).
 */
const BATCH = 16;
const CONCURRENCY = 2;

/**
 * Webhooks in a worker process: the relay (recorded events → pg-boss) and the delivery
 * workers. Only where WEBHOOK_URL is set; every worker process runs both (the relay's
 * `skip locked` and pg-boss share the work out).
 */
export async function startWebhooks(
  boss: PgBoss,
  deps: { db: Db; log: Logger; settings: WebhookSettings },
): Promise<Webhooks> {
  const { db, settings } = deps;
  const log = deps.log.child({ component: 'webhooks' });
  await ensureWebhookQueue(boss, settings);
  const workOptions = {
    batchSize: BATCH,
    localConcurrency: CONCURRENCY,
    includeMetadata: true,
    perJobResults: true,
    burstWhenBatchFull: true,
    // Retries become due at their back-off time without a NOTIFY: the poll finds them.
    pollingIntervalSeconds: 1,
  } as const;
  await boss.work<WebhookJobData, void, typeof workOptions>(WEBHOOK_QUEUE, workOptions, (jobs) =>
    deliverWebhookEvents({ db, log, target: settings }, jobs),
  );
  let running: Promise<number> | undefined;
  const relayOnce = () =>
    (running ??= relayWebhookEvents(db, boss).finally(() => {
      running = undefined;
    }));
  // A full pass is followed by the next at once: a pass a second would cap the relay at
  // RELAY_BATCH events a second, below what one worker process completes (P5: ~300 jobs/s).
  const relayAll = async () => {
    while ((await relayOnce()) === RELAY_BATCH);
  };
  const timer = setInterval(() => {
    relayAll().catch((error: unknown) => log.warn({ err: error }, 'webhook relay pass failed; retrying'));
  }, RELAY_INTERVAL_MS);
  timer.unref();
  return { relayOnce, stop: () => clearInterval(timer) };
}
