import { initTRPC } from '@trpc/server';
import { TRPC_ERROR_CODES_BY_KEY, type TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import type { PgBoss } from 'pg-boss';
import type { Db } from '../../db/database.ts';
import type { ErrorCode, TallyError } from '../../errors.ts';
import type { StoredFiles } from '../../files/stored-files.ts';
import type { ApiHooks } from '../api-hooks.ts';
import type { Authenticate } from '../auth.ts';
import type { JobCreationRate } from '../job-creation-rate.ts';
import { retryAfterHeaders, toTallyError } from '../../http/error-response.ts';
import type { JobChangeListener } from '../job-change-listener.ts';
import type { LongPollSlots } from '../long-poll-slots.ts';
import type { StatusCache } from './status-cache.ts';
import type { WatchSlots } from './watch-slots.ts';

/** Everything a procedure needs; `authorization` is resolved to an owner by `authedProcedure`. */
export interface Context {
  db: Db;
  /**
   * What mutations that make jobs (jobs.rerun) need: the upload pool (a re-run writes as an
   * upload does, not on the requests' pool with its short statement timeout), pg-boss to
   * queue the job in the same transaction, the stored bytes to reuse (StoredFiles.reuse),
   * the uploads' own rate per owner, and the cap on an owner's re-runs in flight
   * (RERUN_MAX_IN_FLIGHT).
   */
  jobCreation: {
    db: Db;
    boss: PgBoss;
    files: StoredFiles;
    rate: JobCreationRate;
    rerunMaxInFlight: number;
  };
  changes: JobChangeListener;
  /** This server's status rows between changes (one per server, made in createContext). */
  statusCache: StatusCache;
  authenticate: Authenticate;
  authorization: string | undefined;
  longPolls: LongPollSlots;
  /** jobs.watch streams held, per owner and in all. */
  watches: WatchSlots;
  /** True once the process drains: long polls answer at once instead of waiting. */
  draining: () => boolean;
  hooks: ApiHooks;
}

/** The `jobId` of a raw (not yet validated) input, when it names one: what tokens bound to a job are checked against. */
export function jobIdOf(raw: unknown): string | undefined {
  const jobId = (raw as { jobId?: unknown } | null | undefined)?.jobId;
  return typeof jobId === 'string' ? jobId : undefined;
}

/** The tRPC key whose JSON-RPC number matches a status (tRPC clients read `code`). */
const TRPC_KEY_BY_STATUS: Record<number, TRPC_ERROR_CODE_KEY> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  408: 'TIMEOUT',
  409: 'CONFLICT',
  412: 'PRECONDITION_FAILED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_CONTENT',
  429: 'TOO_MANY_REQUESTS',
  503: 'SERVICE_UNAVAILABLE',
};

/** What a tRPC client gets in `error.data`: the same code and status as the HTTP routes. */
export interface TallyErrorData {
  code: ErrorCode;
  httpStatus: number;
  path?: string;
  details?: unknown;
}

/** A TallyError as tRPC's error shape (the body is `{"error": <this>}`). */
export function toTrpcErrorShape(tally: TallyError, path?: string) {
  const data: TallyErrorData = {
    code: tally.code,
    httpStatus: tally.status,
    ...(path === undefined ? {} : { path }),
    ...(tally.details === undefined ? {} : { details: tally.details }),
  };
  const key = TRPC_KEY_BY_STATUS[tally.status] ?? 'INTERNAL_SERVER_ERROR';
  return { message: tally.message, code: TRPC_ERROR_CODES_BY_KEY[key], data };
}

/**
 * An error as tRPC would answer it outside a procedure (a refusal before tRPC runs, or the
 * status route): its status, `Retry-After` when it has one, and `{"error": <shape>}`.
 */
export function toTrpcErrorResponse(error: unknown, path?: string) {
  const tally = toTallyError(error);
  return {
    status: tally.status,
    headers: retryAfterHeaders(tally),
    body: { error: toTrpcErrorShape(tally, path) },
  };
}

/**
 * Logs a failure that is ours (INTERNAL) with the route's request id, the procedure and the
 * job it names; refusals of the caller or the input are answers, not server errors.
 */
export function logProcedureFailure(
  log: { error(obj: object, msg: string): void },
  error: unknown,
  path: string | undefined,
  rawInput: unknown,
): void {
  if (toTallyError(error).code !== 'INTERNAL') return;
  log.error({ err: error, path, jobId: jobIdOf(rawInput) }, 'tRPC procedure failed');
}

/** How often a jobs.watch stream carries a heartbeat. */
export const WATCH_PING_MS = 15_000;

/**
 * What tRPC's client is told in a stream's first (`connected`) event: reconnect (with its
 * last event id) after this long without a byte, so a connection that died without a FIN
 * is noticed. Sent by the procedure and by the watch route alike.
 */
export const WATCH_CLIENT_OPTIONS = { reconnectAfterInactivityMs: 40_000 };

const t = initTRPC.context<Context>().create({
  // No transformer: plain JSON, so curl and any HTTP client can read the answers.
  isDev: false, // never send stack traces to clients
  // The one place a tRPC error gets its code, status and message: procedures throw
  // TallyError (or anything else, which becomes INTERNAL) and this maps it.
  errorFormatter: ({ error, path }) => toTrpcErrorShape(toTallyError(error), path),
  sse: {
    // jobs.watch: a comment-sized `ping` event every 15 s keeps the stream alive through
    // proxies and balancers that cut a silent response (nginx's proxy_read_timeout and
    // AWS ALB's idle timeout are 60 s). The client reconnects (with its last event id)
    // after 40 s without a byte: a connection that died without a FIN is noticed then.
    ping: { enabled: true, intervalMs: WATCH_PING_MS },
    client: WATCH_CLIENT_OPTIONS,
  },
});

export const router = t.router;

/**
 * Resolves the bearer token to an owner and narrows the context to carry it. Queries
 * need the `read` scope, mutations `upload`; a token bound to one job is checked against
 * the `jobId` of the raw input (the input is parsed after this middleware). `authenticate`
 * throws TallyError UNAUTHORIZED / FORBIDDEN; the formatter makes them a 401 / 403.
 */
export const authedProcedure = t.procedure.use(async ({ ctx, next, type, getRawInput }) => {
  const raw: unknown = await getRawInput().catch(() => undefined);
  const owner = await ctx.authenticate(ctx.authorization, {
    scope: type === 'mutation' ? 'upload' : 'read',
    jobId: jobIdOf(raw),
  });
  return next({ ctx: { ...ctx, owner } });
});

/**
 * For mutations that create jobs (jobs.rerun): the `upload` scope and no job binding. A
 * token bound to one job may read or cancel that job but never create one, whichever job
 * the input names, so the call is authenticated as a call over all of the owner's jobs
 * (403 FORBIDDEN for a bound token). Each call counts against the owner's upload rate.
 */
export const jobCreatingProcedure = t.procedure.use(async ({ ctx, next }) => {
  const owner = await ctx.authenticate(ctx.authorization, { scope: 'upload' });
  ctx.jobCreation.rate.take(owner); // throws RATE_LIMITED
  return next({ ctx: { ...ctx, owner } });
});
