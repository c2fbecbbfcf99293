import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { retriesFor24h } from '../../src/webhooks/webhook-queue.ts';
import { postCsv, waitForFinal } from '../support/http.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';
import { waitUntil } from '../support/wait-until.ts';
import { startReceiver, type Receiver } from './receiver.ts';

// Signed webhooks end to end: a real Tally (API + workers + pg-boss) POSTs to a real
// receiver that verifies every delivery with the `standardwebhooks` package.

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const GOOD = 'date,amount,customer\n2024-01-05,10.00,a\n2024-02-05,5.50,b\n';
const BAD = 'date,amount\nnot a date,abc\n';

let tally: TestTally;
let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver(SECRET);
  tally = await startTestTally({
    env: { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: SECRET, WEBHOOK_RETRY_DELAY_SECONDS: '1' },
  });
});
afterAll(async () => {
  await tally?.stop();
  await receiver?.kill();
});

const eventsOf = async (jobIds: string[]) =>
  (
    await tally.database.sql.query<{ webhook_id: string; job_id: string; state: string; attempts: number }>(
      'select webhook_id, job_id, state, attempts from tally_admin.webhook_deliveries where job_id = any($1::uuid[])',
      [jobIds],
    )
  ).rows;

async function finishedJob(csv: string): Promise<string> {
  const upload = await postCsv(tally.url, csv);
  expect(upload.status).toBe(202);
  await waitForFinal(tally.url, upload.body.jobId as string);
  return upload.body.jobId as string;
}

const acceptedFor = (jobId: string) =>
  receiver.accepted.find((d) => (JSON.parse(d.body) as { data: { jobId: string } }).data.jobId === jobId);

describe('webhooks', () => {
  it('POSTs a verified job.completed and job.failed event with the body docs/reference.md describes', async () => {
    const completed = await finishedJob(GOOD);
    const failed = await finishedJob(BAD);
    const done = await waitUntil(() => acceptedFor(completed), { what: 'the job.completed delivery' });
    const fail = await waitUntil(() => acceptedFor(failed), { what: 'the job.failed delivery' });

    expect(JSON.parse(done.body)).toEqual({
      type: 'job.completed',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      data: {
        jobId: completed,
        owner: 'local',
        state: 'completed',
        filename: 'revenue.csv',
        error: null,
        revenue: [{ currency: null, revenue: 15.5 }],
      },
    });
    expect(JSON.parse(fail.body)).toMatchObject({
      type: 'job.failed',
      data: { jobId: failed, state: 'failed', error: { code: 'NO_VALID_ROWS' } },
    });
    expect(JSON.parse(fail.body).data).not.toHaveProperty('revenue');
    expect(done.headers['webhook-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(receiver.refused).toEqual([]);
  });

  it('retries while the receiver is down: every event arrives, none accepted twice, ids stable', async () => {
    await receiver.kill();
    const jobIds = await Promise.all([GOOD, GOOD, BAD].map((csv) => finishedJob(csv)));
    // Each event failed at least twice against the closed port before the receiver returns.
    await waitUntil(
      async () => {
        const rows = await eventsOf(jobIds);
        return rows.length === 3 && rows.every((r) => r.attempts >= 2 && r.state === 'retrying');
      },
      { what: 'three events retried while the receiver is down' },
    );
    await receiver.revive();
    const rows = await waitUntil(
      async () => {
        const r = await eventsOf(jobIds);
        return r.every((e) => e.state === 'delivered') && r;
      },
      { what: 'the three events delivered after the receiver came back', timeoutMs: 60_000 },
    );
    for (const row of rows) {
      const delivery = acceptedFor(row.job_id);
      expect(delivery?.id).toBe(row.webhook_id); // the id the first attempt had
    }
    const ids = receiver.accepted.map((d) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(receiver.refused).toEqual([]);
  });

  it('a forged, re-signed or replayed delivery is refused by the standardwebhooks verifier', async () => {
    const real = receiver.accepted[0]!;
    const verifier = new Webhook(SECRET);
    expect(() => verifier.verify(real.body, real.headers)).not.toThrow();
    // Forged: the body changed after signing.
    expect(real.body).toContain('"type":"job.');
    const forgedBody = real.body.replace('"type":"job.', '"type":"job.x');
    expect(() => verifier.verify(forgedBody, real.headers)).toThrow();
    // Signed with another secret.
    const other = new Webhook(`whsec_${randomBytes(32).toString('base64')}`);
    const ts = new Date();
    const resigned = {
      ...real.headers,
      'webhook-signature': other.sign(real.id, ts, real.body),
      'webhook-timestamp': String(Math.floor(ts.getTime() / 1000)),
    };
    expect(() => verifier.verify(real.body, resigned)).toThrow();
    // Replayed later: the captured bytes, 6 minutes on (past the 5-minute tolerance).
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 6 * 60_000);
      expect(() => verifier.verify(real.body, real.headers)).toThrow(/too old/i);
    } finally {
      vi.useRealTimers();
    }
    // Replayed at once: it verifies, and the receiver drops it by its id.
    const replay = await fetch(receiver.url, { method: 'POST', headers: real.headers, body: real.body });
    expect(replay.status).toBe(204);
    expect(receiver.duplicates.map((d) => d.id)).toContain(real.id);
  });

  it('shows deliveries to tally_readonly without bodies', async () => {
    const { rows } = await tally.database.sql.query<{ column_name: string }>(
      `select column_name from information_schema.columns
        where table_schema = 'tally_admin' and table_name = 'webhook_deliveries'`,
    );
    const columns = rows.map((r) => r.column_name);
    expect(columns).toEqual(
      expect.arrayContaining(['webhook_id', 'job_id', 'type', 'state', 'attempts', 'last_error']),
    );
    expect(columns).not.toContain('data');
    const { rows: grants } = await tally.database.sql.query<{ view: boolean; table: boolean }>(
      `select has_table_privilege('tally_readonly', 'tally_admin.webhook_deliveries', 'select') as view,
              has_table_privilege('tally_readonly', 'public.webhook_events', 'select') as table`,
    );
    expect(grants[0]).toEqual({ view: true, table: false });
  });
});

describe('webhook configuration', () => {
  it('needs both variables, and a whsec_ secret of random bytes', () => {
    const base = { HOST: '127.0.0.1' };
    expect(() => loadConfig({ ...base, WEBHOOK_URL: 'http://127.0.0.1:9/x' })).toThrow(
      /WEBHOOK_SECRET: required/,
    );
    expect(() => loadConfig({ ...base, WEBHOOK_URL: 'http://h/x', WEBHOOK_SECRET: 'secret123' })).toThrow(
      /WEBHOOK_SECRET: must start with "whsec_"/,
    );
    expect(() =>
      loadConfig({
        ...base,
        WEBHOOK_URL: 'http://h/x',
        WEBHOOK_SECRET: `whsec_${Buffer.alloc(32).toString('base64')}`,
      }),
    ).toThrow(/WEBHOOK_SECRET: must be random bytes/);
    expect(() => loadConfig({ ...base, WEBHOOK_URL: 'file:///etc/passwd', WEBHOOK_SECRET: SECRET })).toThrow(
      /WEBHOOK_URL/,
    );
    expect(
      loadConfig({ ...base, WEBHOOK_URL: 'https://app.example.com/hooks', WEBHOOK_SECRET: SECRET })
        .WEBHOOK_SECRET,
    ).toHaveLength(32);
  });

  it('retries for at least 24 h', () => {
    for (const delay of [1, 10, 60, 3600]) {
      const retries = retriesFor24h(delay);
      let least = 0;
      for (let n = 0; n < retries; n++) least += Math.min(3600, delay * 2 ** n);
      expect(least).toBeGreaterThanOrEqual(24 * 3600);
    }
    expect(retriesFor24h(10)).toBe(32);
  });
});
