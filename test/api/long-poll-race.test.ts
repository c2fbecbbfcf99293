import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trpcQuery } from '../support/http.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';
import { waitUntil } from '../support/wait-until.ts';
import { queuedJob } from '../support/queued-job.ts';

// The lost wake-up, made deterministic: a long poll's SELECT has taken its
// snapshot (old version) but its answer is held back by a test hook; meanwhile a change
// commits and its NOTIFY reaches the API's listener. Only then is the read let go. A long
// poll that subscribes after it reads never hears that NOTIFY and sleeps its whole waitMs
// with the old version; one that subscribed before reading answers with the new version.

const WAIT_MS = 20_000;

let tally: TestTally;
let sql: pg.Pool;
/** Set by a test: the next status read of this job stops in the hook until released. */
let hold: { jobId: string; reached: () => void; release: Promise<void> } | undefined;

beforeAll(async () => {
  tally = await startTestTally({
    role: 'api', // no worker: the job stays queued and only the test changes it
    apiHooks: {
      afterStatusRead: async (jobId) => {
        const h = hold;
        if (h?.jobId !== jobId) return;
        hold = undefined;
        h.reached();
        await h.release;
      },
    },
  });
  sql = tally.database.sql; // closed by tally.stop()
});
afterAll(async () => {
  await tally?.stop();
});

describe('jobs.status long poll', () => {
  it('hears a change whose NOTIFY arrives while its read is in flight', async () => {
    const { jobId, version } = await queuedJob(tally);
    let reached!: () => void;
    let release!: () => void;
    const readHeld = new Promise<void>((r) => (reached = r));
    hold = { jobId, reached, release: new Promise<void>((r) => (release = r)) };

    const longPoll = trpcQuery(tally.url, 'jobs.status', { jobId, waitMs: WAIT_MS, knownVersion: version });
    await readHeld; // its SELECT answered with `version`

    // A change commits and its notification reaches the API's listener, all before the
    // long poll has its row back.
    const changes = tally.changes;
    if (!changes) throw new Error('the api role has a change listener');
    // waitForChange also ends at its timeout: a wait that ended early ended on the NOTIFY.
    const listening = performance.now();
    const notified = changes.waitForChange(jobId, 2 * WAIT_MS);
    await sql.query('update jobs set rows_processed = rows_processed + 1 where id = $1', [jobId]);
    await notified;
    expect(performance.now() - listening).toBeLessThan(2 * WAIT_MS);
    const released = performance.now();
    release();

    const answer = await longPoll;
    expect(answer.status).toBe(200);
    // At once, not at the end of its wait (a poll that missed the NOTIFY re-reads only
    // when WAIT_MS is over, and then shows the new version too).
    expect(performance.now() - released).toBeLessThan(WAIT_MS / 2);
    expect(answer.body.result.data.version).toBe(version + 1);
    expect(answer.body.result.data.progress.rowsProcessed).toBe(1);
  });

  it('hears a change when its row came from the status cache', async () => {
    const { jobId, version } = await queuedJob(tally);
    // A plain read puts the row in the cache; the long poll's first read is then a hit.
    expect((await trpcQuery(tally.url, 'jobs.status', { jobId })).body.result.data.version).toBe(version);
    const started = performance.now();
    const longPoll = trpcQuery(tally.url, 'jobs.status', { jobId, waitMs: WAIT_MS, knownVersion: version });
    // The server holds it (its gauge of held long polls, read at a /metrics scrape, is 1):
    // an event, not a 200 ms guess. It subscribed before its read, so a change from now on
    // wakes it whether its read or its wait sees the change first.
    await waitUntil(
      async () => /^tally_long_polls 1$/m.test(await (await fetch(`${tally.url}/metrics`)).text()),
      {
        what: 'the long poll to be held',
        intervalMs: 5,
      },
    );
    await sql.query('update jobs set rows_processed = rows_processed + 1 where id = $1', [jobId]);
    const answer = await longPoll;
    // Woken by the NOTIFY, it must not re-read the cache's stale row and wait again.
    expect(answer.body.result.data.version).toBe(version + 1);
    expect(performance.now() - started).toBeLessThan(WAIT_MS / 2);
  });
});
