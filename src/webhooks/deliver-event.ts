import type { JobWithMetadata } from 'pg-boss';
import type { Db } from '../db/database.ts';
import { TallyError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { deliverWebhook, type WebhookEvent } from './deliver.ts';
import type { WebhookJobData } from './webhook-queue.ts';

export interface WebhookTarget {
  url: string;
  key: Buffer;
  timeoutMs: number;
}

interface EventRow {
  id: string;
  job_id: string;
  type: string;
  occurred_at: Date;
  data: unknown;
  delivered_at: Date | null;
}

/**
 * The webhook queue's handler: one attempt at one event, recorded on its row. A failed
 * attempt throws, so pg-boss retries it with back-off; the last one marks the event given
 * up. pg-boss runs a job at least once (a worker that dies after the POST re-runs it), so
 * the receiver may see an id twice: Standard Webhooks receivers dedupe by `webhook-id`.
 */
export async function deliverWebhookEvent(
  deps: { db: Db; log: Logger; target: WebhookTarget; fetch?: typeof fetch },
  job: JobWithMetadata<WebhookJobData>,
): Promise<void> {
  const { rows } = await deps.db.pool.query<EventRow>(
    'select id, job_id, type, occurred_at, data, delivered_at from webhook_events where id = $1',
    [job.data.eventId],
  );
  const row = rows[0];
  if (!row || row.delivered_at) return; // the job was deleted, or an earlier run delivered it
  const event: WebhookEvent = { id: row.id, type: row.type, occurredAt: row.occurred_at, data: row.data };
  const outcome = await deliverWebhook(deps.target, event, deps.fetch);
  const lastAttempt = job.retryCount >= job.retryLimit;
  await deps.db.pool.query(
    `update webhook_events set
       attempts = attempts + 1,
       last_attempt_at = now(),
       last_status = $2,
       last_error = $3,
       delivered_at = case when $4 then now() else delivered_at end,
       gave_up_at = case when not $4 and $5 then now() else gave_up_at end
     where id = $1`,
    [row.id, outcome.status, outcome.delivered ? null : outcome.error, outcome.delivered, lastAttempt],
  );
  const where = { webhookId: row.id, jobId: row.job_id, type: row.type, attempt: job.retryCount + 1 };
  if (outcome.delivered) {
    deps.log.info({ ...where, status: outcome.status }, 'webhook delivered');
    return;
  }
  deps.log.warn(
    { ...where, status: outcome.status, error: outcome.error, lastAttempt },
    lastAttempt ? 'webhook not delivered; giving up' : 'webhook not delivered; will retry',
  );
  throw new TallyError(
    'SERVICE_UNAVAILABLE',
    `The webhook receiver did not take the event: ${outcome.error}`,
  );
}
