import type {
  AnyTRPCProcedure,
  AnyTRPCRouter,
  inferRouterInputs,
  inferRouterOutputs,
  TRPCBuiltRouter,
} from '@trpc/server';
import type { JobOptions } from '../analysis/options.ts';
import type { AppRouter as ServerRouter } from '../api/trpc/app-router.ts';

/**
 * Every type a client sees is inferred from the server's router: no hand-written copies.
 * `import type` only, so no server code reaches a browser bundle.
 *
 * The router's own type names the server's tRPC context (database pool, queue…) in its
 * root and in every nested router. A client never uses the context, but a published
 * `.d.ts` that names it would need pg, kysely and fastify installed to typecheck. So the
 * client's `AppRouter` is the same router with the context replaced by `object` and the
 * nested routers resolved to their procedure records. Declaring it through an inferred
 * value (below) makes `tsc` write the resolved types into the declaration instead of a
 * reference to the server's: zod's inferred outputs become plain object types too.
 */
type ProceduresOf<T> = T extends infer O
  ? { [K in keyof O]: O[K] extends AnyTRPCProcedure ? O[K] : ProceduresOf<O[K]> }
  : never;
type RootTypes<R extends AnyTRPCRouter> = R['_def']['_config']['$types'];

/*
 * Types only: these functions are never called for their value. Their return types are
 * written inline, not as aliases, so that tsc prints what they resolve to.
 */
function clientView<R extends AnyTRPCRouter>(): TRPCBuiltRouter<
  {
    ctx: object;
    meta: RootTypes<R>['meta'];
    errorShape: RootTypes<R>['errorShape'];
    transformer: RootTypes<R>['transformer'];
  },
  ProceduresOf<R['_def']['record']>
> {
  return undefined as never;
}
function resolved<T>(): T extends infer O ? { [K in keyof O]: O[K] } : never {
  return undefined as never;
}
const _appRouter = /* @__PURE__ */ clientView<ServerRouter>();
const _uploadOptions = /* @__PURE__ */ resolved<JobOptions>();

/** The server's router as a client sees it (context-free): for `createTRPCClient<AppRouter>`. */
export type AppRouter = typeof _appRouter;

type Outputs = inferRouterOutputs<AppRouter>;
type Inputs = inferRouterInputs<AppRouter>;

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
export type UploadOptions = typeof _uploadOptions;

/** States after which a job never changes again (one list for the server and the client). */
export { finalJobStates as FINAL_STATES, isFinal } from '../jobs/job-states.ts';
