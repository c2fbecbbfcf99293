import type { PgBoss, QueueOptions } from 'pg-boss';

export const WEBHOOK_QUEUE = 'tally-webhook';

/** What travels through pg-boss: the event's id (= its `webhook-id`); the row holds the rest. */
export interface WebhookJobData {
  eventId: string;
}

/** Deliveries are retried for at least this long. */
export const RETRY_SPAN_SECONDS = 24 * 3600;
/** Longest wait between two attempts: a receiver back after an outage hears within an hour. */
export const RETRY_DELAY_MAX_SECONDS = 3600;

/**
 * Retries needed for the waits between attempts to add up to 24 h at least. pg-boss waits
 * `delay × 2^n × (1 + random)` before retry n+1 (capped at the max): the sum of the
 * lower bounds `min(max, delay × 2^n)` is what is guaranteed. With the default 10 s:
 * 10 s, 20 s, … 2,560 s (85 min in 9 retries), then 1 h each: 32 retries, 24.0 h at the
 * least and about 33 h on average.
 */
export function retriesFor24h(delaySeconds: number): number {
  let sum = 0;
  let retries = 0;
  while (sum < RETRY_SPAN_SECONDS) {
    sum += Math.min(RETRY_DELAY_MAX_SECONDS, delaySeconds * 2 ** Math.min(retries, 16));
    retries += 1;
  }
  return retries;
}

export function webhookQueueOptions(settings: {
  retryDelaySeconds: number;
  timeoutMs: number;
}): QueueOptions {
  return {
    retryLimit: retriesFor24h(settings.retryDelaySeconds),
    retryDelay: settings.retryDelaySeconds,
    retryBackoff: true,
    retryDelayMax: RETRY_DELAY_MAX_SECONDS,
    // An attempt ends at its own timeout; expiry only catches a worker that froze.
    expireInSeconds: Math.ceil(settings.timeoutMs / 1000) + 60,
    // Waiting out 24 h of retries must not be cut short by pg-boss's retention of queued jobs.
    retentionSeconds: 3 * 24 * 3600,
    deleteAfterSeconds: 24 * 3600,
  };
}

export async function ensureWebhookQueue(
  boss: PgBoss,
  settings: { retryDelaySeconds: number; timeoutMs: number },
): Promise<void> {
  const options = webhookQueueOptions(settings);
  if (await boss.getQueue(WEBHOOK_QUEUE)) await boss.updateQueue(WEBHOOK_QUEUE, options);
  else await boss.createQueue(WEBHOOK_QUEUE, options);
}
