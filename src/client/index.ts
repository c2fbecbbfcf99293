/**
 * The Tally client: typed end to end from the server's router, for browsers and Node.
 *
 *   const tally = createTallyClient({ baseUrl: 'http://127.0.0.1:3000' });
 *   const analysis = await tally.runAnalysisWithPolling(await fs.openAsBlob('sales.csv'), (s) => …);
 */
import type { ClientContext, TokenProvider } from './context.ts';
import { toTallyApiError } from './errors.ts';
import { pollJob, type PollJobOptions } from './poll-job.ts';
import { createTrpc, type TallyTrpcClient } from './trpc.ts';
import type { JobStatus, RevenueAnalysis } from './types.ts';
import { uploadCsv, type UploadCsvOptions, type UploadResult } from './upload.ts';
import { watchJob, type WatchJobOptions } from './watch-job.ts';

export { JobFailedError, JobTimeoutError, TallyApiError, toTallyApiError } from './errors.ts';
export { FINAL_STATES, isFinal } from './types.ts';
export type {
  AppRouter,
  CurrencyAnalysis,
  JobList,
  JobListInput,
  JobState,
  JobStatus,
  Ranked,
  RevenueAnalysis,
  UploadOptions,
} from './types.ts';
export type { PollJobOptions } from './poll-job.ts';
export type { WatchJobOptions } from './watch-job.ts';
export type { TokenProvider } from './context.ts';
export { createTokenProvider, type IssuedToken, type TokenProviderOptions } from './token-provider.ts';
export type { UploadCsvOptions, UploadProgress, UploadResult } from './upload.ts';
export type { TallyTrpcClient } from './trpc.ts';

export interface TallyClientOptions {
  /** e.g. `http://127.0.0.1:3000`; '' in a page served by Tally itself (same origin). */
  baseUrl: string;
  /**
   * Sent as `Authorization: Bearer <token>` when auth is on: an API key, a browser token,
   * or a provider called before every request (to refresh short-lived browser tokens).
   */
  token?: string | TokenProvider;
  /** A fetch to use instead of the global one (for tRPC calls and, then, uploads too). */
  fetch?: typeof globalThis.fetch;
}

export interface RunAnalysisOptions extends UploadCsvOptions, Omit<PollJobOptions, 'onProgress' | 'signal'> {
  /** Hears the job id as soon as the upload is accepted (to resume watching later). */
  onJobCreated?: (jobId: string) => void;
}

export interface TallyClient {
  trpc: TallyTrpcClient;
  uploadCsv(file: Blob, opts?: UploadCsvOptions): Promise<UploadResult>;
  pollJob(jobId: string, opts?: PollJobOptions): Promise<JobStatus>;
  /** The same promise as `pollJob`, pushed over SSE (jobs.watch); long-polls where SSE cannot be used. */
  watchJob(jobId: string, opts?: WatchJobOptions): Promise<JobStatus>;
  /** Upload, watch until completed, and return the analysis. */
  runAnalysisWithPolling(
    file: Blob,
    onProgress?: (status: JobStatus) => void,
    opts?: RunAnalysisOptions,
  ): Promise<RevenueAnalysis>;
}

export function createTallyClient(options: TallyClientOptions): TallyClient {
  const ctx: ClientContext = {
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    token: typeof options.token === 'function' ? options.token : () => options.token as string | undefined,
    // Bound, so a browser's fetch is not called with a foreign `this`.
    fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
    customFetch: options.fetch !== undefined,
  };
  const trpc = createTrpc(ctx);

  const client: TallyClient = {
    trpc,
    uploadCsv: (file, opts) => uploadCsv(ctx, file, opts),
    pollJob: (jobId, opts) => pollJob(trpc, jobId, opts),
    watchJob: (jobId, opts) => watchJob(trpc, jobId, opts),
    async runAnalysisWithPolling(file, onProgress, opts = {}) {
      const { jobId } = await uploadCsv(ctx, file, opts);
      opts.onJobCreated?.(jobId);
      await pollJob(trpc, jobId, { ...opts, ...(onProgress ? { onProgress } : {}) });
      try {
        return await trpc.jobs.result.query({ jobId }, { signal: opts.signal });
      } catch (error) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        throw toTallyApiError(error);
      }
    },
  };
  return client;
}
