import type { JobResult, JobWithMetadata } from 'pg-boss';
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { deliverWebhook, type DeliveryOutcome, type WebhookEvent, type WebhookTarget } from './deliver.ts';
import type { WebhookJobData } from './webhook-queue.ts';

interface EventRow {
  id: string;
  job_id: string;
  type: string;
  occurred_at: Date;
  data: unknown;
  delivered_at: Date | null;
}

/** What one attempt at one event came to, for its row and its queue entry. */
interface Attempt {
  job: JobWithMetadata<WebhookJobData>;
  row: EventRow;
  outcome: DeliveryOutcome;
  lastAttempt: boolean;
}

/**
 * The webhook queue's handler: one attempt at each event of a batch, all POSTed at once,
 * recorded on their rows in one statement, and settled one by one (pg-boss `perJobResults`):
 * a delivered event completes, a failed one fails alone and pg-boss retries it with
 * back-off; its last attempt marks the event given up. Besides its claim, a batch costs a
 * read, a record and a settle (two statements when some failed) whatever its size; one
 * event a claim cost five round trips each.
 *
 * pg-boss runs a job at least once (a worker that dies after the POST, or a record that
 * fails, re-runs it), so the receiver may see an id twice: Standard Webhooks receivers
 * dedupe by `webhook-id`.
 */
export async function deliverWebhookEvents(
  deps: { db: Db; log: Logger; target: WebhookTarget },
  jobs: JobWithMetadata<WebhookJobData>[],
): Promise<JobResult[]> {
  const { rows } = await deps.db.pool.query<EventRow>(
    'select id, job_id, type, occurred_at, data, delivered_at from webhook_events where id = any($1::uuid[])',
    [jobs.map((job) => job.data.eventId)],
  );
  const byId = new Map(rows.map((row) => [row.id, row]));
  const results: JobResult[] = [];
  const pending: Promise<Attempt>[] = [];
  for (const job of jobs) {
    const row = byId.get(job.data.eventId);
    // The job was deleted (its events with it), or an earlier run delivered this one.
    if (!row || row.delivered_at) results.push({ id: job.id, status: 'completed' });
    else pending.push(attempt(deps, job, row));
  }
  const attempts = await Promise.all(pending);
  if (attempts.length > 0) await recordAttempts(deps.db, attempts);
  for (const a of attempts) results.push(settle(deps.log, a));
  return results;
}

async function attempt(
  deps: { target: WebhookTarget },
  job: JobWithMetadata<WebhookJobData>,
  row: EventRow,
): Promise<Attempt> {
  const event: WebhookEvent = { id: row.id, type: row.type, occurredAt: row.occurred_at, data: row.data };
  const outcome = await deliverWebhook(deps.target, event);
  return { job, row, outcome, lastAttempt: job.retryCount >= job.retryLimit };
}

/** Every attempt of the batch on its event's row (tally_admin.webhook_deliveries), in one statement. */
async function recordAttempts(db: Db, attempts: Attempt[]): Promise<void> {
  await db.pool.query(
    `update webhook_events e set
       attempts = e.attempts + 1,
       last_attempt_at = now(),
       last_status = a.status,
       last_error = a.error,
       delivered_at = case when a.delivered then now() else e.delivered_at end,
       gave_up_at = case when not a.delivered and a.last_attempt then now() else e.gave_up_at end
     from unnest($1::uuid[], $2::int[], $3::text[], $4::bool[], $5::bool[])
       as a (id, status, error, delivered, last_attempt)
     where e.id = a.id`,
    [
      attempts.map((a) => a.row.id),
      attempts.map((a) => a.outcome.status),
      attempts.map((a) => (a.outcome.delivered ? null : a.outcome.error)),
      attempts.map((a) => a.outcome.delivered),
      attempts.map((a) => a.lastAttempt),
    ],
  );
}

/** The queue entry's outcome, logged: a failed attempt fails its entry alone, to be retried. */
function settle(log: Logger, { job, row, outcome, lastAttempt }: Attempt): JobResult {
  const where = { webhookId: row.id, jobId: row.job_id, type: row.type, attempt: job.retryCount + 1 };
  if (outcome.delivered) {
    log.info({ ...where, status: outcome.status }, 'webhook delivered');
    return { id: job.id, status: 'completed' };
  }
  log.warn(
    { ...where, status: outcome.status, error: outcome.error, lastAttempt },
    lastAttempt ? 'webhook not delivered; giving up' : 'webhook not delivered; will retry',
  );
  return {
    id: job.id,
    status: 'failed',
    output: {
      code: 'SERVICE_UNAVAILABLE',
      message: `The webhook receiver did not take the event: ${outcome.error}`,
    },
  };
}
