import { once } from 'node:events';
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { thisMachine } from '../../src/lib/process-identity.ts';
import { createLogger } from '../../src/logger.ts';
import { ANALYSIS_QUEUE } from '../../src/queue/boss.ts';
import { TallyBossDb } from '../../src/queue/boss-db.ts';
import { ClaimExtensions } from '../../src/queue/claim-extension.ts';
import { beyondCores, wakePolicy } from '../../src/worker/wake-policy.ts';
import { useTestDb } from '../support/app-db.ts';
import { postCsv, waitForFinal } from '../support/http.ts';
import { logLines } from '../support/log-lines.ts';
import { useTestTallies } from '../support/tally.ts';

// A worker process behind others that have a slot per core of its machine leaves new jobs
// to them (worker/wake-policy.ts): pg-boss's listener, through TallyBossDb, does not pass on the
// NOTIFYs of a poll-only queue, and still counts them (worker/start-on-claim.ts reads the
// count to tell whether anything was sent since a claim).

const t = useTestDb({ max: 2 });
const start = useTestTallies();
const closing: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closing.splice(0)) await close();
});

describe('poll-only queues', () => {
  it('are counted and not passed on by the listener; other queues are', async () => {
    const claims = new ClaimExtensions();
    claims.pollOnly.add('held-queue');
    const db = new TallyBossDb({ connectionString: t.database.url }, { claims });
    await db.open();
    closing.push(() => db.close());
    const passed: string[] = [];
    const arrived = new EventTarget();
    const handle = await db.listen(
      'tally_poll_only_test',
      (payload) => {
        passed.push(payload);
        arrived.dispatchEvent(new Event('payload'));
      },
      () => undefined,
    );
    closing.unshift(() => handle.close());
    const counted = claims.notifications;
    // One connection's NOTIFYs arrive in the order they were sent: once the last is passed
    // on, the held one before it has been delivered too.
    for (const queue of ['held-queue', 'other-queue', 'held-queue', 'last-queue'])
      await t.database.sql.query('select pg_notify($1, $2)', ['tally_poll_only_test', queue]);
    while (!passed.includes('last-queue')) await once(arrived, 'payload');
    expect(passed).toEqual(['other-queue', 'last-queue']);
    expect(claims.notifications - counted).toBe(4);
  });

  it('hold the analysis queue in a process behind processes with a slot per core on its machine', () => {
    const claims = new ClaimExtensions();
    const { lines, stream } = logLines();
    const place = wakePolicy(claims, createLogger('info', {}, stream));
    const cores = os.availableParallelism();
    expect(beyondCores({ ahead: cores, slotsAhead: cores - 1, cores })).toBe(false);
    place({ ahead: 1, slotsAhead: cores - 1, cores });
    expect(claims.pollOnly.has(ANALYSIS_QUEUE)).toBe(false);
    expect(lines).toEqual([]); // no change, no line
    place({ ahead: 1, slotsAhead: cores, cores }); // one process with a slot per core
    expect(claims.pollOnly.has(ANALYSIS_QUEUE)).toBe(true);
    place({ ahead: 3, slotsAhead: cores + 3, cores });
    place({ ahead: 0, slotsAhead: 0, cores }); // those before it stopped
    expect(claims.pollOnly.has(ANALYSIS_QUEUE)).toBe(false);
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual([
      expect.stringContaining('this one polls'),
      expect.stringContaining('acts on new jobs at once'),
    ]);
  });

  it("leave a worker process behind its machine's first ones to its poll, and it still runs the jobs", async () => {
    const api = await start({ role: 'api' });
    // Live company on this machine, started before the worker: one process with a slot per core.
    const cores = os.availableParallelism();
    await api.database.sql.query(
      `insert into worker_processes (instance, machine, cores, slots, started_at)
       values ($1, $2, $3, $3, now() - interval '1 minute')`,
      [randomUUID(), thisMachine, cores],
    );
    const logs = logLines();
    await start({
      role: 'worker',
      database: api.database,
      env: { LOG_LEVEL: 'info' },
      logStream: logs.stream,
    });
    await logs.waitFor(/this one polls/);
    const upload = await postCsv(api.url, 'date,amount\n2024-01-05,12.50\n2024-02-07,7.25\n');
    expect(upload.status).toBe(202);
    const done = await waitForFinal(api.url, upload.body.jobId as string);
    expect(done).toMatchObject({ state: 'completed', error: null });
  });
});
