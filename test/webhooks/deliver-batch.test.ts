import { randomBytes } from 'node:crypto';
import type { PgBoss } from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { startBoss } from '../../src/queue/boss.ts';
import { startWebhooks, type Webhooks } from '../../src/webhooks/start-webhooks.ts';
import { useTestDb } from '../support/app-db.ts';
import { insertTestJob } from '../support/job-factory.ts';
import { waitUntil } from '../support/wait-until.ts';
import { startReceiver, type Receiver } from './receiver.ts';

// Deliveries are claimed in batches and settled event by event: a receiver that refuses some
// events of a batch gets those again, and only those. Real PostgreSQL, real pg-boss, a real
// receiver verifying every delivery with the `standardwebhooks` package.

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const EVENTS = 12;

const t = useTestDb();
let boss: PgBoss;
let webhooks: Webhooks;
let receiver: Receiver;
/** Ids the receiver answers 503 on their first POST. */
const refuseOnce = new Set<string>();

beforeAll(async () => {
  receiver = await startReceiver(SECRET, 0, refuseOnce);
  const log = createLogger('silent');
  boss = await startBoss(
    t.database.url,
    { heartbeatSeconds: 30, expireInSeconds: 60, retryLimit: 0, supervise: false },
    log,
  );
  webhooks = await startWebhooks(boss, {
    db: t.db,
    log,
    settings: {
      url: receiver.url,
      key: Buffer.from(SECRET.slice('whsec_'.length), 'base64'),
      timeoutMs: 5000,
      retryDelaySeconds: 1,
    },
  });
});

afterAll(async () => {
  webhooks?.stop();
  await boss?.stop({ graceful: false, close: true });
  await receiver?.kill();
});

describe('webhook deliveries claimed in batches', () => {
  it('retries the events a receiver refused, and only those; every event is delivered', async () => {
    // Final states recorded through the trigger, as every path to a final state records them.
    const jobIds: string[] = [];
    for (let i = 0; i < EVENTS; i++) jobIds.push(await insertTestJob(t.database.sql, { state: 'running' }));
    await t.database.sql.query(
      `update jobs set state = 'completed', finished_at = now(), result = '{}'::jsonb where id = any($1::uuid[])`,
      [jobIds],
    );
    const { rows: events } = await t.database.sql.query<{ id: string }>(
      'select id from webhook_events where job_id = any($1::uuid[]) order by id',
      [jobIds],
    );
    expect(events).toHaveLength(EVENTS);
    for (const e of events.filter((_, i) => i % 3 === 0)) refuseOnce.add(e.id);

    // One relay pass queues all of them in one statement: a claim takes them together.
    expect(await webhooks.relayOnce()).toBe(EVENTS);
    const rows = await waitUntil(
      async () => {
        const { rows: r } = await t.database.sql.query<{
          webhook_id: string;
          state: string;
          attempts: number;
        }>(
          'select webhook_id, state, attempts from tally_admin.webhook_deliveries where job_id = any($1::uuid[])',
          [jobIds],
        );
        return r.length === EVENTS && r.every((e) => e.state === 'delivered') && r;
      },
      { what: `the ${EVENTS} events delivered`, timeoutMs: 30_000 },
    );

    const turnedAway = receiver.turnedAway.map((d) => d.id);
    for (const row of rows) {
      // Each event accepted once; none sent again after it was accepted.
      expect(receiver.accepted.filter((d) => d.id === row.webhook_id)).toHaveLength(1);
      if (refuseOnce.has(row.webhook_id)) {
        expect(turnedAway.filter((id) => id === row.webhook_id)).toHaveLength(1);
        expect(row.attempts).toBe(2);
      } else {
        // Sent once: a refused neighbour in its batch did not send it again.
        expect(turnedAway).not.toContain(row.webhook_id);
        expect(row.attempts).toBe(1);
      }
    }
    expect(receiver.duplicates).toEqual([]);
    expect(receiver.refused).toEqual([]);
  });
});
