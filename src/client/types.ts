import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '../api/trpc/app-router.ts';
import type { JobOptions } from '../analysis/options.ts';

/**
 * Every type a client sees, inferred from the server's router: no hand-written copies.
 * `import type` only, so no server code reaches a browser bundle.
 */
type Outputs = inferRouterOutputs<AppRouter>;
type Inputs = inferRouterInputs<AppRouter>;

export type { AppRouter };
export type JobStatus = Outputs['jobs']['status'];
export type JobState = JobStatus['state'];
export type RevenueAnalysis = Outputs['jobs']['result'];
export type CurrencyAnalysis = RevenueAnalysis['currencies'][number];
export type Ranked = NonNullable<CurrencyAnalysis['topCustomers']>[number];
export type JobList = Outputs['jobs']['list'];
export type JobListInput = Inputs['jobs']['list'];

/**
 * The `options` part of an upload. Uploads go through the multipart route, not tRPC, so
 * this one type comes from the server's options schema rather than from the router.
 */
export type UploadOptions = JobOptions;

/** States after which a job never changes again. */
export const FINAL_STATES: ReadonlySet<JobState> = new Set<JobState>(['completed', 'failed', 'cancelled']);

export function isFinal(state: JobState): boolean {
  return FINAL_STATES.has(state);
}
