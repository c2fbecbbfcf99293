// @vitest-environment happy-dom
// @vitest-environment-options {"settings": {"fetch": {"disableSameOriginPolicy": true}}}
// happy-dom's page is at localhost:3000 and the test servers on random ports: without the
// option above its fetch (the global one here) would refuse them as cross-origin.
import { randomBytes } from 'node:crypto';
import { act, cleanup, configure, renderHook, waitFor } from '@testing-library/react';
import { StrictMode, type ReactNode } from 'react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTallyClient, JobFailedError, JobTimeoutError } from '../../src/client/index.ts';
import { useJobStatus } from '../../src/client/react.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';
import { countingFetch, intervalsPass } from './support.ts';

// revenue 10.00 + 20.50 = 30.50
const CSV = 'date,amount,customer\n2024-01-05,10.00,alice\n2024-02-05,20.50,bob\n';

const strict = ({ children }: { children: ReactNode }) => <StrictMode>{children}</StrictMode>;

/** Status requests made for one job (the job id is in the URL-encoded input). */
function statusCallsFor(urls: string[], jobId: string): number {
  return urls.filter((u) => u.includes('/trpc/jobs.status') && decodeURIComponent(u).includes(jobId)).length;
}

let api: TestTally; // no workers: jobs stay queued
let full: TestTally;

// Auth on: happy-dom's requests carry its page's Origin (localhost:3000), which a Tally
// without auth refuses as cross-site (only its own pages may call it then).
const TOKEN = randomBytes(24).toString('base64url');
const env = { API_TOKENS: `tester:${TOKEN}` };

beforeAll(async () => {
  [api, full] = await Promise.all([startTestTally({ role: 'api', env }), startTestTally({ env })]);
});
afterAll(async () => {
  await Promise.all([api?.stop(), full?.stop()]);
});
afterEach(() => cleanup());
// waitFor's deadline (1 s by default) is how long a wait may take before the test fails,
// not a sleep: on a loaded machine a few 100 ms intervals can take longer than 1 s.
configure({ asyncUtilTimeout: 15_000 });

async function upload(url: string): Promise<string> {
  // No custom fetch: the client takes the browser path (XMLHttpRequest, happy-dom's here).
  const client = createTallyClient({ token: TOKEN, baseUrl: url });
  return (await client.uploadCsv(new File([CSV], 'small.csv'))).jobId;
}

/**
 * The clock for "and no request afterwards": `intervals` intervals of a live watch of
 * another queued job (see intervalsPass), on the same event loop as the hook's timers.
 */
async function intervalsGoBy(intervalMs: number, intervals: number): Promise<void> {
  const watcher = createTallyClient({ token: TOKEN, baseUrl: api.url });
  await intervalsPass(watcher, await upload(api.url), intervalMs, intervals);
}

describe('useJobStatus under StrictMode, against a real server', () => {
  it('stops after maxPolls requests with a JobTimeoutError (plus at most one aborted by the double mount)', async () => {
    const jobId = await upload(api.url);
    const counter = countingFetch();
    const client = createTallyClient({ token: TOKEN, baseUrl: api.url, fetch: counter.fetch });
    const { result } = renderHook(() => useJobStatus(jobId, { client, pollIntervalMs: 100, maxPolls: 3 }), {
      wrapper: strict,
    });
    expect(result.current.isPolling).toBe(true);
    await waitFor(() => expect(result.current.error).toBeInstanceOf(JobTimeoutError), { timeout: 5000 });
    expect(result.current).toMatchObject({
      isPolling: false,
      polls: 3,
      status: { id: jobId, state: 'queued' },
    });
    const made = counter.count('jobs.status');
    expect(made).toBeGreaterThanOrEqual(3);
    expect(made).toBeLessThanOrEqual(4);
    await intervalsGoBy(100, 5);
    expect(counter.count('jobs.status')).toBe(made);
  });

  it('keeps watching with a fresh budget after restart()', async () => {
    const jobId = await upload(api.url);
    const counter = countingFetch();
    const client = createTallyClient({ token: TOKEN, baseUrl: api.url, fetch: counter.fetch });
    const { result } = renderHook(() => useJobStatus(jobId, { client, pollIntervalMs: 100, maxPolls: 2 }), {
      wrapper: strict,
    });
    await waitFor(() => expect(result.current.error).toBeInstanceOf(JobTimeoutError));
    const before = counter.count('jobs.status');
    act(() => result.current.restart());
    expect(result.current).toMatchObject({ error: undefined, isPolling: true, status: { state: 'queued' } });
    await waitFor(() => expect(result.current.error).toBeInstanceOf(JobTimeoutError));
    expect(result.current.polls).toBe(2);
    expect(counter.count('jobs.status') - before).toBe(2);
  });

  it('stops at the final state and hands over the completed status', async () => {
    const jobId = await upload(full.url);
    const counter = countingFetch();
    const client = createTallyClient({ token: TOKEN, baseUrl: full.url, fetch: counter.fetch });
    const { result } = renderHook(() => useJobStatus(jobId, { client, pollIntervalMs: 100, maxPolls: 200 }), {
      wrapper: strict,
    });
    await waitFor(() => expect(result.current.status?.state).toBe('completed'), { timeout: 15_000 });
    expect(result.current).toMatchObject({ isPolling: false, error: undefined });
    expect(result.current.polls).toBeGreaterThanOrEqual(1);
    const made = counter.count('jobs.status');
    expect(made).toBeLessThanOrEqual(result.current.polls + 1);
    await intervalsGoBy(100, 4);
    expect(counter.count('jobs.status')).toBe(made);
    const analysis = await client.trpc.jobs.result.query({ jobId });
    expect(analysis.currencies[0]?.totals.revenue).toBe(30.5);
  });

  it('reports a cancelled job as JobFailedError with its status', async () => {
    const jobId = await upload(api.url);
    const client = createTallyClient({ token: TOKEN, baseUrl: api.url });
    const { result } = renderHook(() => useJobStatus(jobId, { client, pollIntervalMs: 200, maxPolls: 50 }), {
      wrapper: strict,
    });
    await waitFor(() => expect(result.current.status?.state).toBe('queued'));
    await client.trpc.jobs.cancel.mutate({ jobId });
    await waitFor(() => expect(result.current.error).toBeInstanceOf(JobFailedError));
    expect(result.current).toMatchObject({ isPolling: false, status: { state: 'cancelled' } });
    expect(result.current.error).toMatchObject({ code: 'CANCELLED' });
  });

  it('stops requesting on unmount, aborting the long poll in flight', async () => {
    const jobId = await upload(api.url);
    const counter = countingFetch();
    const client = createTallyClient({ token: TOKEN, baseUrl: api.url, fetch: counter.fetch });
    const { result, unmount } = renderHook(
      () => useJobStatus(jobId, { client, pollIntervalMs: 150, maxPolls: 100 }),
      { wrapper: strict },
    );
    await waitFor(() => expect(result.current.polls).toBeGreaterThanOrEqual(3));
    unmount();
    const made = counter.count('jobs.status');
    await intervalsGoBy(150, 4); // a live watch would have made ~4 more requests meanwhile
    expect(counter.count('jobs.status')).toBe(made);
  });

  it('switches jobs: the old job gets no more requests, the new one is watched from scratch', async () => {
    const [first, second] = [await upload(api.url), await upload(api.url)];
    const counter = countingFetch();
    const client = createTallyClient({ token: TOKEN, baseUrl: api.url, fetch: counter.fetch });
    const { result, rerender } = renderHook(
      ({ id }: { id: string }) => useJobStatus(id, { client, pollIntervalMs: 150, maxPolls: 100 }),
      { wrapper: strict, initialProps: { id: first } },
    );
    await waitFor(() => expect(result.current.polls).toBeGreaterThanOrEqual(2));
    rerender({ id: second });
    // Nothing of the first job is shown for the second.
    expect(result.current.status?.id ?? second).toBe(second);
    const firstCalls = statusCallsFor(counter.urls, first);
    await waitFor(() => expect(result.current.status?.id).toBe(second));
    // The new watch is the clock: three intervals after its first request, an old watch
    // left running would have asked about the first job again.
    await waitFor(() => expect(statusCallsFor(counter.urls, second)).toBeGreaterThanOrEqual(4));
    expect(statusCallsFor(counter.urls, first)).toBe(firstCalls);
    expect(result.current.polls).toBeLessThanOrEqual(statusCallsFor(counter.urls, second));
  });

  it('does nothing without a job id', async () => {
    const counter = countingFetch();
    const client = createTallyClient({ token: TOKEN, baseUrl: api.url, fetch: counter.fetch });
    const { result } = renderHook(() => useJobStatus(null, { client }), { wrapper: strict });
    await intervalsGoBy(100, 2);
    expect(result.current).toMatchObject({ status: undefined, error: undefined, isPolling: false, polls: 0 });
    expect(counter.urls).toHaveLength(0);
  });
});
