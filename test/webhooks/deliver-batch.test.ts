import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { PgBoss } from 'pg-boss';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { startBoss } from '../../src/queue/boss.ts';
import { startWebhooks, type Webhooks } from '../../src/webhooks/start-webhooks.ts';
import { useTestDb } from '../support/app-db.ts';
import { insertTestJob } from '../support/job-factory.ts';
import { waitUntil } from '../support/wait-until.ts';

// Deliveries are claimed in batches and settled event by event: a receiver that refuses some
// events of a batch gets those again, and only those. Real PostgreSQL, real pg-boss, a real
// receiver verifying every delivery with the `standardwebhooks` package.

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const EVENTS = 12;

const t = useTestDb();
let boss: PgBoss;
let webhooks: Webhooks;
let server: Server;
let url: string;
/** Every verified POST, in order: the webhook-id it carried and the status it was answered. */
const posts: { id: string; status: number }[] = [];
/** Ids answered 503 on their first POST. */
const refuseOnce = new Set<string>();

beforeAll(async () => {
  const verifier = new Webhook(SECRET);
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      verifier.verify(Buffer.concat(chunks).toString(), headers); // throws (and fails the test) if forged
      const id = headers['webhook-id']!;
      const refused = refuseOnce.has(id) && !posts.some((p) => p.id === id);
      const status = refused ? 503 : 204;
      posts.push({ id, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hooks`;
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
      url,
      key: Buffer.from(SECRET.slice('whsec_'.length), 'base64'),
      timeoutMs: 5000,
      retryDelaySeconds: 1,
    },
  });
});

afterAll(async () => {
  webhooks?.stop();
  await boss?.stop({ graceful: false, close: true });
  await new Promise<void>((resolve) => server?.close(() => resolve()));
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

    for (const row of rows) {
      const sent = posts.filter((p) => p.id === row.webhook_id).map((p) => p.status);
      if (refuseOnce.has(row.webhook_id)) {
        expect(sent).toEqual([503, 204]);
        expect(row.attempts).toBe(2);
      } else {
        // Sent once: a refused neighbour in its batch did not send it again.
        expect(sent).toEqual([204]);
        expect(row.attempts).toBe(1);
      }
    }
  });
});
