import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTallyClient, JobFailedError, type JobStatus } from '../../src/client/index.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';
import { openSse, watchUrl } from './sse.ts';
import { queuedJob } from '../support/queued-job.ts';

// jobs.watch over real HTTP against a real PostgreSQL. The API runs alone (no worker), so
// only the test changes jobs, with SQL: every UPDATE bumps `version` and NOTIFYs, exactly
// as a worker's writes do.

let tally: TestTally;
let sql: pg.Pool;

beforeAll(async () => {
  tally = await startTestTally({ role: 'api', env: { WATCH_STREAMS_PER_OWNER: '3' } });
  sql = tally.database.sql;
});
afterAll(async () => {
  await tally?.stop();
});

const progress = (jobId: string) =>
  sql.query(
    "update jobs set state = 'running', started_at = coalesce(started_at, now()), rows_processed = rows_processed + 1 where id = $1",
    [jobId],
  );
const complete = (jobId: string) =>
  sql.query("update jobs set state = 'completed', finished_at = now() where id = $1", [jobId]);

describe('jobs.watch (SSE)', () => {
  it('sends the current status, then every change, each with its version as id, and ends after the final state', async () => {
    const { jobId, version } = await queuedJob(tally);
    const stream = await openSse(watchUrl(tally.url, { jobId }));
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect((await stream.nextData())?.event).toBe('connected');

    const first = await stream.nextData();
    expect(first?.id).toBe(String(version));
    expect(JSON.parse(first!.data)).toMatchObject({ id: jobId, state: 'queued', version });

    await progress(jobId);
    const second = await stream.nextData();
    expect(second?.id).toBe(String(version + 1));
    expect(JSON.parse(second!.data)).toMatchObject({ state: 'running', progress: { rowsProcessed: 1 } });

    await complete(jobId);
    const last = await stream.nextData();
    expect(last?.id).toBe(String(version + 2));
    expect(JSON.parse(last!.data).state).toBe('completed');
    expect((await stream.nextData())?.event).toBe('return');
    expect(await stream.next()).toBeUndefined(); // the server ended the response
  });

  it('resumes after lastEventId: nothing already seen, then the next change', async () => {
    const { jobId, version } = await queuedJob(tally);
    await progress(jobId); // version + 1, seen by the client before it dropped
    const stream = await openSse(watchUrl(tally.url, { jobId, lastEventId: String(version + 1) }));
    expect((await stream.nextData())?.event).toBe('connected');
    await progress(jobId); // version + 2: the first event this stream may send
    const next = await stream.nextData();
    expect(next?.id).toBe(String(version + 2));
    stream.close();

    // Resumed by the Last-Event-ID header, as a browser's EventSource reconnects.
    const again = await openSse(watchUrl(tally.url, { jobId }), { 'last-event-id': String(version + 2) });
    expect((await again.nextData())?.event).toBe('connected');
    await complete(jobId);
    const final = await again.nextData();
    expect(final?.id).toBe(String(version + 3));
    expect((await again.nextData())?.event).toBe('return');
  });

  it('answers a resume after the final state with nothing more, and an unknown job with NOT_FOUND', async () => {
    const { jobId, version } = await queuedJob(tally);
    await complete(jobId);
    const done = await openSse(watchUrl(tally.url, { jobId, lastEventId: String(version + 1) }));
    expect((await done.nextData())?.event).toBe('connected');
    expect((await done.nextData())?.event).toBe('return');

    const missing = await openSse(watchUrl(tally.url, { jobId: crypto.randomUUID() }));
    expect((await missing.nextData())?.event).toBe('connected');
    const error = await missing.nextData();
    expect(error?.event).toBe('serialized-error');
    expect(JSON.parse(error!.data)).toMatchObject({ data: { code: 'NOT_FOUND', httpStatus: 404 } });
  });

  it('bounds the streams one owner holds (429), and watchJob then long-polls to the end', async () => {
    const { jobId } = await queuedJob(tally);
    const held = await Promise.all([1, 2, 3].map(() => openSse(watchUrl(tally.url, { jobId }))));
    for (const s of held) expect((await s.nextData())?.event).toBe('connected');
    for (const s of held) expect(JSON.parse((await s.nextData())!.data).state).toBe('queued');

    const fourth = await openSse(watchUrl(tally.url, { jobId }));
    await fourth.nextData(); // connected
    const refused = await fourth.nextData();
    expect(refused?.event).toBe('serialized-error');
    expect(JSON.parse(refused!.data)).toMatchObject({ data: { code: 'RATE_LIMITED', httpStatus: 429 } });

    const polls: string[] = [];
    const client = createTallyClient({
      baseUrl: tally.url,
      fetch: (input, init) => {
        polls.push(input instanceof Request ? input.url : input.toString());
        return fetch(input, init);
      },
    });
    let firstHeard!: () => void;
    const heard = new Promise<void>((r) => (firstHeard = r));
    const watched = client.watchJob(jobId, { deadlineMs: 30_000, onProgress: () => firstHeard() });
    await heard; // by the fallback's first poll: the stream was refused
    await complete(jobId);
    await expect(watched).resolves.toMatchObject({ state: 'completed' });
    expect(polls.some((u) => u.includes('/trpc/jobs.status'))).toBe(true);
    for (const s of held) s.close();
  });

  it('watchJob resolves with the final status, hearing each version once and in order', async () => {
    const { jobId } = await queuedJob(tally);
    const heard: JobStatus[] = [];
    const client = createTallyClient({ baseUrl: tally.url });
    let firstHeard!: () => void;
    const subscribed = new Promise<void>((r) => (firstHeard = r));
    const watched = client.watchJob(jobId, {
      onProgress: (s) => {
        heard.push(s);
        firstHeard(); // the stream subscribed before it read this
      },
    });
    await subscribed;
    await progress(jobId);
    await progress(jobId);
    await complete(jobId);
    const final = await watched;
    expect(final.state).toBe('completed');
    const versions = heard.map((s) => s.version);
    expect(new Set(versions).size).toBe(versions.length);
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);
    expect(heard.at(-1)).toEqual(final);
  });

  it('watchJob rejects with JobFailedError for a cancelled job and JobTimeoutError at the deadline', async () => {
    const client = createTallyClient({ baseUrl: tally.url });
    const cancelled = await queuedJob(tally);
    await sql.query("update jobs set state = 'cancelled', finished_at = now() where id = $1", [
      cancelled.jobId,
    ]);
    const failure = await client.watchJob(cancelled.jobId).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(JobFailedError);
    expect(failure).toMatchObject({ jobId: cancelled.jobId, state: 'cancelled' });

    const quiet = await queuedJob(tally);
    const timeout = await client.watchJob(quiet.jobId, { deadlineMs: 300 }).catch((e: unknown) => e);
    expect(timeout).toMatchObject({ name: 'JobTimeoutError', jobId: quiet.jobId });
    expect((timeout as { lastStatus?: JobStatus }).lastStatus?.state).toBe('queued');
  });
});
