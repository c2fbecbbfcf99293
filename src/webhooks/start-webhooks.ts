import type { PgBoss } from 'pg-boss';
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { deliverWebhookEvent, type WebhookTarget } from './deliver-event.ts';
import { relayWebhookEvents } from './relay.ts';
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
/** Deliveries in flight per worker process: a slow receiver must not hold every slot. */
const CONCURRENCY = 4;

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
    batchSize: 1,
    localConcurrency: CONCURRENCY,
    includeMetadata: true,
    // Retries become due at their back-off time without a NOTIFY: the poll finds them.
    pollingIntervalSeconds: 1,
  } as const;
  await boss.work<WebhookJobData, void, typeof workOptions>(WEBHOOK_QUEUE, workOptions, async ([job]) => {
    if (job) await deliverWebhookEvent({ db, log, target: settings }, job);
  });
  let running: Promise<number> | undefined;
  const relayOnce = () =>
    (running ??= relayWebhookEvents(db, boss).finally(() => {
      running = undefined;
    }));
  const timer = setInterval(() => {
    relayOnce().catch((error: unknown) => log.warn({ err: error }, 'webhook relay pass failed; retrying'));
  }, RELAY_INTERVAL_MS);
  timer.unref();
  return { relayOnce, stop: () => clearInterval(timer) };
}
