import { describe, expectTypeOf, it } from 'vitest';
import type {
  createTallyClient,
  JobFailedError,
  JobTimeoutError,
  TallyClient,
  JobState,
  JobStatus,
  RevenueAnalysis,
  TokenProvider,
  WatchJobOptions,
} from '../../src/client/index.ts';
import { useJobStatus } from '../../src/client/react.ts';
import type { jobStates } from '../../src/db/schema.ts';
import type { RevenueAnalysis as ServerRevenueAnalysis } from '../../src/analysis/result.ts';

// Type-level tests of the public client (as pg-boss has for its API): `npm run typecheck`
// checks them, so a server change that alters what a client sees fails CI by name here,
// not in a consumer's build. The published .d.ts are checked again by test/packages.

describe('the public client types', () => {
  it('are the server’s own types, inferred through the router', () => {
    expectTypeOf<JobState>().toEqualTypeOf<(typeof jobStates)[number]>();
    expectTypeOf<RevenueAnalysis>().toEqualTypeOf<ServerRevenueAnalysis>();
    expectTypeOf<JobStatus['version']>().toEqualTypeOf<number>();
    expectTypeOf<JobStatus['error']>().toEqualTypeOf<{
      code: string;
      message: string;
      details?: unknown;
    } | null>();
  });

  it('give the client methods the contract’s shapes', () => {
    expectTypeOf<ReturnType<TallyClient['pollJob']>>().resolves.toEqualTypeOf<JobStatus>();
    expectTypeOf<
      ReturnType<TallyClient['runAnalysisWithPolling']>
    >().resolves.toEqualTypeOf<RevenueAnalysis>();
    expectTypeOf<ReturnType<TallyClient['uploadCsv']>>()
      .resolves.toHaveProperty('jobId')
      .toEqualTypeOf<string>();
    expectTypeOf<ReturnType<TallyClient['watchJob']>>().resolves.toEqualTypeOf<JobStatus>();
    expectTypeOf<Parameters<TallyClient['watchJob']>[1]>().toEqualTypeOf<WatchJobOptions | undefined>();
    expectTypeOf<WatchJobOptions>().toEqualTypeOf<{
      deadlineMs?: number;
      onProgress?: (status: JobStatus) => void;
      signal?: AbortSignal;
    }>();
    expectTypeOf<ReturnType<typeof createTallyClient>>().toEqualTypeOf<TallyClient>();
    expectTypeOf<Parameters<typeof createTallyClient>[0]['token']>().toEqualTypeOf<
      string | TokenProvider | undefined
    >();
  });

  it('type the errors a watch ends with', () => {
    expectTypeOf<JobTimeoutError['polls']>().toEqualTypeOf<number>();
    expectTypeOf<JobTimeoutError['jobId']>().toEqualTypeOf<string>();
    expectTypeOf<JobFailedError['state']>().toEqualTypeOf<JobState>();
    expectTypeOf(useJobStatus).returns.toHaveProperty('status').toEqualTypeOf<JobStatus | undefined>();
    expectTypeOf(useJobStatus).returns.toHaveProperty('polls').toEqualTypeOf<number>();
    expectTypeOf(useJobStatus)
      .parameter(1)
      .exclude<undefined>()
      .toHaveProperty('transport')
      .toEqualTypeOf<'poll' | 'watch' | undefined>();
  });

  it('type jobs.watch events as tracked statuses', () => {
    // The iterator form of subscribe: what it yields is what onData hears.
    type Watch = TallyClient['trpc']['jobs']['watch']['subscribe'];
    type WatchEvent = ReturnType<Watch> extends AsyncIterableIterator<infer E> ? E : never;
    expectTypeOf<WatchEvent>().toExtend<{ id: string; data: JobStatus }>();
    expectTypeOf<WatchEvent['data']['state']>().toEqualTypeOf<JobState>();
  });
});
