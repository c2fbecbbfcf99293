// @vitest-environment happy-dom
// @vitest-environment-options {"settings": {"fetch": {"disableSameOriginPolicy": true}}}
import { cleanup, renderHook, waitFor } from '@testing-library/react';
import { StrictMode, type ReactNode } from 'react';
import { fetch as nodeFetch } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTallyClient, JobTimeoutError } from '../../src/client/index.ts';
import { useJobStatus } from '../../src/client/react.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';

// useJobStatus({transport: 'watch'}) against real servers, under StrictMode. The client is
// given Node's fetch (undici): happy-dom's own refuses the test servers' ports as
// cross-origin, and a browser is covered by watch-browser.test.ts.

const strict = ({ children }: { children: ReactNode }) => <StrictMode>{children}</StrictMode>;

let api: TestTally; // no workers: jobs stay queued
let full: TestTally;
const requested: string[] = [];
const fetchImpl = ((input: string, init?: RequestInit) => {
  requested.push(input);
  return nodeFetch(input, init as never);
}) as unknown as typeof fetch;

beforeAll(async () => {
  [api, full] = await Promise.all([startTestTally({ role: 'api' }), startTestTally()]);
});
afterAll(async () => {
  await Promise.all([api?.stop(), full?.stop()]);
});
afterEach(() => cleanup());

/** Through Node's fetch too: happy-dom's sends its page's Origin, which a local Tally refuses. */
async function upload(url: string): Promise<string> {
  const boundary = 'tally-test-boundary';
  const body =
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="small.csv"\r\n\r\n` +
    `date,amount\n2024-01-05,10.00\n2024-02-05,20.50\n\r\n--${boundary}--\r\n`;
  const res = await nodeFetch(`${url}/api/jobs`, {
    method: 'POST',
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    body,
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { jobId: string }).jobId;
}

describe("useJobStatus({transport: 'watch'})", () => {
  it('follows the job over jobs.watch to completed, without status polls', async () => {
    const jobId = await upload(full.url);
    const client = createTallyClient({ baseUrl: full.url, fetch: fetchImpl });
    const { result } = renderHook(() => useJobStatus(jobId, { client, transport: 'watch' }), {
      wrapper: strict,
    });
    await waitFor(() => expect(result.current.status?.state).toBe('completed'), { timeout: 20_000 });
    expect(result.current).toMatchObject({ isPolling: false, error: undefined });
    const mine = requested.filter((u) => decodeURIComponent(u).includes(jobId));
    expect(mine.some((u) => u.includes('/trpc/jobs.watch'))).toBe(true);
    expect(mine.some((u) => u.includes('/trpc/jobs.status'))).toBe(false);
  });

  it('gives up after maxPolls × pollIntervalMs with a JobTimeoutError, keeping the last status', async () => {
    const jobId = await upload(api.url);
    const client = createTallyClient({ baseUrl: api.url, fetch: fetchImpl });
    const { result } = renderHook(
      // A 3 s deadline: the first status must arrive before it. With 0.5 s it did not once,
      // with five test files running beside each other at a load of 20 on 2 cores.
      () => useJobStatus(jobId, { client, transport: 'watch', pollIntervalMs: 1000, maxPolls: 3 }),
      { wrapper: strict },
    );
    await waitFor(() => expect(result.current.error).toBeInstanceOf(JobTimeoutError), { timeout: 10_000 });
    expect(result.current.polls).toBeGreaterThanOrEqual(1); // stream connections made
    expect(result.current).toMatchObject({ isPolling: false, status: { id: jobId, state: 'queued' } });
  });
});
