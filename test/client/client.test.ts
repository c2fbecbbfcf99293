import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTallyClient,
  JobFailedError,
  JobTimeoutError,
  TallyApiError,
  type JobStatus,
  type UploadProgress,
} from '../../src/client/index.ts';
import { startTestTally, type TestTally } from '../support/tally.ts';
import { waitUntil } from '../support/wait-until.ts';
import { countingFetch, intervalsPass, type CountingFetch } from './support.ts';

// Five rows by hand; line 6 ("oops") is rejected, the others are valid:
//   revenue  = 100.00 + 1250.50 - 20.00 + 75.25 = 1405.75
//   refunds  = 20.00; transactions = 4 (a refund is a transaction); customers = alice, bob, carol = 3
//   AOV      = 1405.75 / 4 = 351.4375 → 351.44
//   monthly  = 2024-01: 100.00 + 1250.50 = 1350.50; 2024-02: -20.00 + 75.25 = 55.25
const CSV = [
  'date,amount,customer',
  '2024-01-05,100.00,alice',
  '2024-01-20,"1,250.50",bob',
  '2024-02-03,-20.00,alice',
  '2024-02-14,75.25,carol',
  '2024-03-01,oops,dave',
].join('\n');

const csvFile = (text = CSV, name = 'sales.csv') => new File([text], name, { type: 'text/csv' });

let full: TestTally;

beforeAll(async () => {
  full = await startTestTally();
});
afterAll(async () => {
  await full?.stop();
});

describe('against a server with workers', () => {
  it('uploads, polls and returns the typed analysis with the hand-computed totals', async () => {
    const counter = countingFetch();
    const tally = createTallyClient({ baseUrl: full.url, fetch: counter.fetch });
    const seen: JobStatus[] = [];
    let createdId: string | undefined;
    const analysis = await tally.runAnalysisWithPolling(csvFile(), (s) => seen.push(s), {
      pollIntervalMs: 200,
      maxPolls: 100,
      onJobCreated: (id) => (createdId = id),
    });

    expect(createdId).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen.at(-1)).toMatchObject({ id: createdId, state: 'completed', progress: { percent: 100 } });
    expect(analysis.input.filename).toBe('sales.csv');
    expect(analysis.rows).toMatchObject({ total: 5, valid: 4, rejected: 1 });
    expect(analysis.rows.rejectedSamples).toEqual([{ line: 6, reason: expect.any(String) }]);
    expect(analysis.currencies).toHaveLength(1);
    const usd = analysis.currencies[0]!;
    expect(usd.totals).toEqual({
      revenue: 1405.75,
      refunds: 20,
      transactions: 4,
      customers: 3,
      averageOrderValue: 351.44,
      firstDate: '2024-01-05',
      lastDate: '2024-02-14',
    });
    expect(usd.monthly.map((m) => [m.month, m.revenue])).toEqual([
      ['2024-01', 1350.5],
      ['2024-02', 55.25],
    ]);
    expect(usd.topCustomers?.[0]).toMatchObject({ key: 'bob', revenue: 1250.5 });
    // One upload, a handful of status polls, one result: no request storm.
    expect(counter.count('jobs.result')).toBe(1);
    expect(counter.count('jobs.status')).toBeLessThanOrEqual(100);
  });

  it('reports upload progress up to the file size, for a streamed Blob', async () => {
    const tally = createTallyClient({ baseUrl: full.url });
    const rows = Array.from(
      { length: 60_000 },
      (_, i) => `2024-01-${String((i % 28) + 1).padStart(2, '0')},1.00,c${i}`,
    );
    const file = new Blob([`date,amount,customer\n${rows.join('\n')}\n`]);
    const events: UploadProgress[] = [];
    const { jobId, state } = await tally.uploadCsv(file, { onUploadProgress: (p) => events.push(p) });
    expect(jobId).toMatch(/^[0-9a-f-]{36}$/);
    expect(state).toBe('queued');
    expect(events.length).toBeGreaterThan(2);
    expect(events.at(-1)).toEqual({ loaded: file.size, total: file.size, percent: 100 });
    const loaded = events.map((e) => e.loaded);
    expect(loaded).toEqual([...loaded].sort((a, b) => a - b));
    expect(events[0]!.loaded).toBeLessThan(file.size);
  });

  it('sends options and honours the Idempotency-Key', async () => {
    const tally = createTallyClient({ baseUrl: full.url });
    const semicolons = 'Datum;Betrag;Kunde\n05.01.2024;1.234,50;anna\n06.01.2024;-34,50;ben\n';
    const key = `key-${Date.now()}`;
    const options = {
      delimiter: ';',
      decimalSeparator: ',',
      columns: { date: 'Datum', amount: 'Betrag', customer: 'Kunde' },
      currency: 'EUR',
    } as const;
    const first = await tally.uploadCsv(csvFile(semicolons, 'de.csv'), { options, idempotencyKey: key });
    const again = await tally.uploadCsv(csvFile(semicolons, 'de.csv'), { options, idempotencyKey: key });
    expect(first.reused).toBe(false);
    expect(again).toEqual({ jobId: first.jobId, state: expect.any(String), reused: true });
    await tally.pollJob(first.jobId, { pollIntervalMs: 200, maxPolls: 100 });
    const analysis = await tally.trpc.jobs.result.query({ jobId: first.jobId });
    // 1234.50 - 34.50 = 1200.00, in the currency given by the options.
    expect(analysis.currencies.map((c) => [c.currency, c.totals.revenue])).toEqual([['EUR', 1200]]);
  });

  it('surfaces upload refusals as TallyApiError with the server’s code and status', async () => {
    const tally = createTallyClient({ baseUrl: full.url });
    const binary = new Blob([new Uint8Array(4096).map((_, i) => (i * 7) % 256)]);
    await expect(tally.uploadCsv(binary)).rejects.toMatchObject({
      name: 'TallyApiError',
      status: 422,
      code: 'INVALID_CSV',
    });
    const badOptions = tally.uploadCsv(csvFile(), { options: { delimiter: 'x' } as never });
    await expect(badOptions).rejects.toBeInstanceOf(TallyApiError);
    await expect(badOptions).rejects.toMatchObject({ status: 400, code: 'BAD_REQUEST' });
    await expect(
      tally.uploadCsv(csvFile(), { idempotencyKey: 'spaces are not allowed' }),
    ).rejects.toMatchObject({
      status: 400,
      code: 'BAD_REQUEST',
    });
  });

  it('rejects an unknown job with a NOT_FOUND TallyApiError after one request', async () => {
    const counter = countingFetch();
    const tally = createTallyClient({ baseUrl: full.url, fetch: counter.fetch });
    const error = await tally
      .pollJob('00000000-0000-4000-8000-000000000000', { pollIntervalMs: 100, maxPolls: 5 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TallyApiError);
    expect(error).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect(counter.count('jobs.status')).toBe(1);
  });
});

describe('against an API without workers (jobs stay queued)', () => {
  let api: TestTally;
  beforeAll(async () => {
    api = await startTestTally({ role: 'api' });
  });
  afterAll(async () => {
    await api?.stop();
  });

  async function queuedJob(): Promise<string> {
    const { jobId } = await createTallyClient({ baseUrl: api.url }).uploadCsv(csvFile());
    return jobId;
  }

  /**
   * Resolves once request `n` has been sent and the server holds it as a long poll: the
   * API's own gauge of held long polls (`tally_long_polls`, set when /metrics is scraped)
   * reads 1. (The change listener's waiter count would not do: the status cache watches
   * each job it holds for 2 s too.)
   */
  async function serverHoldsLongPoll(counter: CountingFetch, n: number): Promise<void> {
    await waitUntil(
      async () => {
        if (counter.count('jobs.status') !== n) return false;
        const metrics = await (await fetch(`${api.url}/metrics`)).text();
        return /^tally_long_polls 1$/m.test(metrics);
      },
      { what: `the server to hold status request ${n}`, intervalMs: 5 },
    );
  }

  it('makes exactly maxPolls status requests, then throws JobTimeoutError', async () => {
    const jobId = await queuedJob();
    const counter = countingFetch();
    const tally = createTallyClient({ baseUrl: api.url, fetch: counter.fetch });
    const started = Date.now();
    const error = await tally.pollJob(jobId, { pollIntervalMs: 150, maxPolls: 4 }).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(JobTimeoutError);
    expect(error).toMatchObject({ jobId, polls: 4, lastStatus: { state: 'queued' } });
    expect((error as JobTimeoutError).message).toMatch(/may still be running/);
    expect(counter.count('jobs.status')).toBe(4);
    // The first answer is immediate (no knownVersion yet); the client waits out the rest
    // of that interval, then three long polls of 150 ms each: ≥ 4 intervals in all.
    expect(elapsed).toBeGreaterThanOrEqual(4 * 150 - 20);
    // And none afterwards: three intervals of a live watch of the same job go by first.
    await intervalsPass(createTallyClient({ baseUrl: api.url }), jobId, 150, 3);
    expect(counter.count('jobs.status')).toBe(4);
  });

  it('counts failed attempts against the budget and retries transient failures', async () => {
    const jobId = await queuedJob();
    // The 1st and 2nd status requests fail before reaching the network; the rest go through.
    const counter = countingFetch((url, n) => {
      if (url.includes('/trpc/jobs.status') && n <= 2) throw new TypeError('fetch failed (simulated)');
    });
    const tally = createTallyClient({ baseUrl: api.url, fetch: counter.fetch });
    const seen: JobStatus[] = [];
    const error = await tally
      .pollJob(jobId, { pollIntervalMs: 50, maxPolls: 3, onProgress: (s) => seen.push(s) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobTimeoutError);
    expect(counter.count('jobs.status')).toBe(3);
    expect(seen).toHaveLength(1); // only the third request answered

    const allFail = countingFetch(() => {
      throw new TypeError('fetch failed (simulated)');
    });
    const down = createTallyClient({ baseUrl: api.url, fetch: allFail.fetch });
    const timeout = await down.pollJob(jobId, { pollIntervalMs: 20, maxPolls: 5 }).catch((e: unknown) => e);
    expect(timeout).toBeInstanceOf(JobTimeoutError);
    expect((timeout as JobTimeoutError).cause).toMatchObject({
      name: 'TallyApiError',
      code: 'NETWORK_ERROR',
    });
    expect(allFail.count('jobs.status')).toBe(5);
  });

  it('never makes a request when maxPolls is 0', async () => {
    const counter = countingFetch();
    const tally = createTallyClient({ baseUrl: api.url, fetch: counter.fetch });
    await expect(tally.pollJob(await queuedJob(), { maxPolls: 0 })).rejects.toMatchObject({ polls: 0 });
    expect(counter.urls).toHaveLength(0);
  });

  it('stops at once on abort, in the middle of a long poll, and makes no further request', async () => {
    const jobId = await queuedJob();
    const counter = countingFetch();
    const tally = createTallyClient({ baseUrl: api.url, fetch: counter.fetch });
    const controller = new AbortController();
    const reason = new Error('user went away');
    let answered!: () => void;
    const firstAnswer = new Promise<void>((resolve) => (answered = resolve));
    const polling = tally.pollJob(jobId, {
      pollIntervalMs: 20_000,
      maxPolls: 10,
      signal: controller.signal,
      onProgress: () => answered(),
    });
    // The first request answers at once; the client then sleeps out the 20 s interval (it
    // enters its sleep before this continuation runs). Abort then:
    await firstAnswer;
    expect(counter.count('jobs.status')).toBe(1);
    const abortedAt = Date.now();
    controller.abort(reason);
    await expect(polling).rejects.toBe(reason);
    expect(Date.now() - abortedAt).toBeLessThan(10_000); // not the rest of the 20 s sleep

    // And while the server holds a long poll (knownVersion given, job unchanged):
    const second = new AbortController();
    const statuses: JobStatus[] = [];
    const holding = tally.pollJob(jobId, {
      pollIntervalMs: 2000,
      maxPolls: 50,
      signal: second.signal,
      onProgress: (s) => statuses.push(s),
    });
    // Request 2 answers at once; 2 s later request 3 is the long poll. Abort once the
    // server is holding it (its listener has the waiter), not after a guessed delay.
    await serverHoldsLongPoll(counter, 3);
    second.abort(reason);
    await expect(holding).rejects.toBe(reason);
    // The poll has returned: no timer or retry of it is left to send anything more.
    expect(counter.count('jobs.status')).toBe(3);
    expect(statuses).toHaveLength(1);
  });

  it('rejects with JobFailedError for a cancelled job', async () => {
    const jobId = await queuedJob();
    const counter = countingFetch();
    const tally = createTallyClient({ baseUrl: api.url, fetch: counter.fetch });
    const cancelled = await tally.trpc.jobs.cancel.mutate({ jobId });
    expect(cancelled.state).toBe('cancelled');
    const error = await tally
      .pollJob(jobId, { pollIntervalMs: 10_000, maxPolls: 5 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    expect(error).toMatchObject({ jobId, code: 'CANCELLED', state: 'cancelled' });
    expect((error as JobFailedError).message).toMatch(/cancelled/i);
    expect(counter.count('jobs.status')).toBe(1);
  });

  it('hears a cancel during a long poll at once, and rejects with JobFailedError', async () => {
    const jobId = await queuedJob();
    const counter = countingFetch();
    const tally = createTallyClient({ baseUrl: api.url, fetch: counter.fetch });
    // Request 1 at once; after the 3 s interval, long poll 2 (held up to 3 s).
    const polling = tally.pollJob(jobId, { pollIntervalMs: 3000, maxPolls: 50 });
    // Handled from here on: the long poll hears the cancel's NOTIFY, which carries the new
    // row (no read), and may reject before the cancel's own answer is back (an unhandled
    // rejection failed a full run).
    const outcome = polling.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await serverHoldsLongPoll(counter, 2);
    const cancelledAt = Date.now();
    await tally.trpc.jobs.cancel.mutate({ jobId });
    expect(await outcome).toMatchObject({ name: 'JobFailedError', code: 'CANCELLED' });
    // Woken by the change, not by the end of its 3 s wait.
    expect(Date.now() - cancelledAt).toBeLessThan(1500);
    expect(counter.count('jobs.status')).toBe(2);
  });

  it('writes a log line about every logIntervalMs while waiting', async () => {
    const jobId = await queuedJob();
    const lines: string[] = [];
    const at: number[] = [];
    const tally = createTallyClient({ baseUrl: api.url });
    const started = Date.now();
    await expect(
      tally.pollJob(jobId, {
        pollIntervalMs: 100,
        maxPolls: 8,
        logIntervalMs: 250,
        onLog: (l) => (lines.push(l), at.push(Date.now())),
      }),
    ).rejects.toBeInstanceOf(JobTimeoutError);
    const elapsed = Date.now() - started;
    // Bounds that hold at any speed (a loaded machine made 8 polls take over 2 s, and a
    // fixed "at most 4" failed): requests start ≥ 100 ms apart, so the 8th is checked
    // ≥ 700 ms in, room for 2 lines; never 2 lines within 250 ms; no more than fit.
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(249);
    expect(lines.length).toBeLessThanOrEqual(Math.floor(elapsed / 250));
    expect(lines[0]).toMatch(new RegExp(`job ${jobId}: queued, 0% \\(0 rows\\) after .* min, \\d/8 checks`));
  });
});

describe('against a server with auth and a small upload limit', () => {
  let authed: TestTally;
  const token = 'test-token-0123456789abcdef';
  beforeAll(async () => {
    authed = await startTestTally({ env: { API_TOKENS: `alice:${token}`, MAX_UPLOAD_BYTES: '2000' } });
  });
  afterAll(async () => {
    await authed?.stop();
  });

  it('sends the bearer token on uploads and tRPC calls', async () => {
    const tally = createTallyClient({ baseUrl: authed.url, token });
    const analysis = await tally.runAnalysisWithPolling(csvFile(), undefined, {
      pollIntervalMs: 200,
      maxPolls: 100,
    });
    expect(analysis.currencies[0]?.totals.revenue).toBe(1405.75);
    const list = await tally.trpc.jobs.list.query({ limit: 5 });
    expect(list.items).toHaveLength(1);
  });

  it('surfaces 401 and 413 as TallyApiError', async () => {
    const anonymous = createTallyClient({ baseUrl: authed.url });
    await expect(anonymous.uploadCsv(csvFile())).rejects.toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    await expect(
      anonymous.pollJob('00000000-0000-4000-8000-000000000000', { maxPolls: 3, pollIntervalMs: 10 }),
    ).rejects.toMatchObject({ status: 401, code: 'UNAUTHORIZED' });

    const tally = createTallyClient({ baseUrl: authed.url, token });
    const big = csvFile(`${CSV}\n${'2024-01-05,1.00,x\n'.repeat(300)}`);
    await expect(tally.uploadCsv(big)).rejects.toMatchObject({ status: 413, code: 'FILE_TOO_LARGE' });
  });

  it('aborts an upload with a signal', async () => {
    const tally = createTallyClient({ baseUrl: authed.url, token });
    const controller = new AbortController();
    const reason = new Error('changed my mind');
    controller.abort(reason);
    await expect(tally.uploadCsv(csvFile(), { signal: controller.signal })).rejects.toBe(reason);
  });
});
