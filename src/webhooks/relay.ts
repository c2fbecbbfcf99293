import type { PgBoss } from 'pg-boss';
import { inClientTransaction } from '../lib/client-transaction.ts';
import type { Db } from '../db/database.ts';
import { WEBHOOK_QUEUE, type WebhookJobData } from './webhook-queue.ts';

/** Events one relay pass hands to the queue; a full pass is followed by another at once. */
export const RELAY_BATCH = 200;
/**
 * Events older than this when first seen (webhooks were off when they were recorded, or
 * the relay was down longer) are not sent: a receiver switched on today should not get a
 * month of old events. Marked `gave up` so the admin view says so.
 */
const MAX_AGE = '24 hours';

/**
 * Moves recorded events (webhook_events rows the jobs trigger wrote) into the pg-boss
 * queue. Each event is queued with its own id as the pg-boss job id, in the same
 * transaction that marks it queued: a crash between the two is impossible, and a relay
 * pass racing another (two worker processes) skips locked rows, so an event is queued
 * once. Returns how many it queued.
 */
export function relayWebhookEvents(db: Db, boss: PgBoss): Promise<number> {
  return inClientTransaction(db.pool, async (client) => {
    await client.query(
      `update webhook_events set gave_up_at = now(), last_error = 'recorded while webhooks were off or the relay was down for over ${MAX_AGE}'
        where queued_at is null and gave_up_at is null and occurred_at < now() - interval '${MAX_AGE}'`,
    );
    const { rows } = await client.query<{ id: string }>(
      `select id from webhook_events
        where queued_at is null and gave_up_at is null
        order by occurred_at limit ${RELAY_BATCH} for update skip locked`,
    );
    if (rows.length > 0) {
      const conn = { db: { executeSql: (text: string, values?: unknown[]) => client.query(text, values) } };
      // The whole batch in one statement (pg-boss's insert takes the queue's retry settings
      // as send does): one round trip a pass instead of one per event, ~1 per job under load.
      const entries = rows.map(({ id }) => ({ id, data: { eventId: id } satisfies WebhookJobData }));
      await boss.insert(WEBHOOK_QUEUE, entries, conn);
      await client.query('update webhook_events set queued_at = now() where id = any($1::uuid[])', [
        rows.map((r) => r.id),
      ]);
    }
    return rows.length;
  });
}
