import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { PgBoss } from 'pg-boss';
import type { Db } from '../db/database.ts';
import type { StoredFiles } from '../files/stored-files.ts';
import type { Logger } from '../logger.ts';
import { operationsPlugin } from '../observability/operations-plugin.ts';
import { setApiGauges } from '../observability/metrics.ts';
import { contractErrorOptions, contractErrorsPlugin } from '../http/contract-errors.ts';
import type { ApiHooks } from './api-hooks.ts';
import { createAuthenticator, type AuthOptions } from './auth.ts';
import { ConnectionStats, connectionGuard } from './connection-guard.ts';
import { corsPlugin } from './cors.ts';
import { drainPlugin } from './drain-plugin.ts';
import type { JobChangeListener } from './job-change-listener.ts';
import { JobCreationRate } from './job-creation-rate.ts';
import { localModeGuard } from './local-mode-guard.ts';
import { LongPollSlots } from './long-poll-slots.ts';
import type { OwnerSlotsOptions } from './owner-slots.ts';
import { resumableUploadsPlugin, type ResumableUploadLimits } from './resumable/resumable-plugin.ts';
import { createContext } from './trpc/context.ts';
import { trpcPlugin } from './trpc/trpc-plugin.ts';
import { WatchSlots } from './trpc/watch-slots.ts';
import type { UploadLimits } from './upload/receive-upload.ts';
import { uploadPlugin } from './upload/upload-plugin.ts';

/** The API's settings, in its own words (src/roles/api-role.ts translates the environment). */
export interface ApiOptions {
  /** HEADERS_TIMEOUT_MS */
  headersTimeoutMs: number;
  /** TRUST_PROXY: which proxy hops may set request.ip (the rate limits key on it). */
  trustProxy: boolean | number | string[];
  /** CORS_ORIGINS */
  corsOrigins: readonly string[];
  /** API_TOKENS, TOKEN_SIGNING_KEYS, TOKEN_ISSUER, TOKEN_AUDIENCE; neither keys nor tokens: auth off. */
  auth: AuthOptions;
  /** MAX_CONNECTIONS */
  maxConnections: number;
  /** LONG_POLLS_PER_OWNER, LONG_POLLS_MAX */
  longPolls: OwnerSlotsOptions;
  /** WATCH_STREAMS_PER_OWNER, WATCH_STREAMS_MAX */
  watches: OwnerSlotsOptions;
  /** UPLOAD_RATE_LIMIT_PER_MINUTE: uploads and re-runs per owner, one count for both. */
  jobCreationsPerMinute: number;
  /** TRPC_RATE_LIMIT_PER_SECOND */
  trpcCallsPerSecond: number;
  /** RERUN_MAX_IN_FLIGHT */
  rerunMaxInFlight: number;
  uploads: UploadLimits;
  resumableUploads: ResumableUploadLimits;
}

export interface ServerDeps {
  options: ApiOptions;
  /** The pool uploads use. */
  db: Db;
  /** The pool tRPC procedures use: its statements end after DB_STATEMENT_TIMEOUT_MS. */
  requestDb: Db;
  /** /healthz and /readyz's own connection (createHealthDb). */
  healthDb: Db;
  boss: PgBoss;
  /** Where uploaded bytes live (src/files/). */
  files: StoredFiles;
  changes: JobChangeListener;
  log: Logger;
  /** True once the process drains (SIGTERM): new requests get 503, long polls answer now. */
  isDraining: () => boolean;
  /** Fault-injection hooks for tests. */
  hooks?: ApiHooks;
  /** Extra Fastify plugins (the web UI), each registered with `app.register`. */
  plugins?: ((app: FastifyInstance) => void | Promise<void>)[];
}

/** A client's X-Request-Id is logged beside ours (clientRequestId), never used as ours. */
const CLIENT_REQUEST_ID = /^[\w.:-]{1,64}$/;

export interface ApiServer {
  app: FastifyInstance;
  /** Requests received and not yet answered. */
  openRequests(): number;
}

/** A hop count as Fastify applies it (its types take no number): the nearest `hops` proxies are trusted. */
function trustProxyOption(value: ApiOptions['trustProxy']) {
  return typeof value === 'number' ? (_address: string, hop: number) => hop < value : value;
}

function createFastify(options: ApiOptions, log: Logger): FastifyInstance {
  // Typed as Fastify's base logger so the app keeps Fastify's default generics.
  const loggerInstance: FastifyBaseLogger = log;
  return Fastify({
    loggerInstance,
    // Status polls, health checks and scrapes arrive many times a second per client and say
    // nothing new: two request log lines for each would drown the lines that matter.
    // Their errors are still logged.
    logController: new LogController({
      disableRequestLogging: (req) => /^\/(trpc\/jobs\.(status|list)|healthz|readyz|metrics)\b/.test(req.url),
    }),
    // Our own id for every request: a client-chosen one could collide with another
    // request's, or put anything it likes into worker logs.
    genReqId: () => randomUUID(),
    childLoggerFactory: (logger, bindings, opts, rawReq) => {
      const given = rawReq.headers['x-request-id'];
      const valid = typeof given === 'string' && CLIENT_REQUEST_ID.test(given);
      return logger.child(valid ? { ...bindings, clientRequestId: given } : bindings, opts);
    },
    bodyLimit: 1024 * 1024, // JSON bodies (tRPC mutations); uploads bypass it through busboy
    // tRPC batches name every procedure in one path parameter ("jobs.status,jobs.list,…").
    routerOptions: { maxParamLength: 1000 },
    // A connection must send its request head within HEADERS_TIMEOUT_MS (then 408 and
    // closed), checked every second rather than Node's 30 s: this is what reaps sockets
    // that connect and say nothing. Bodies are policed by the upload's own idle timer,
    // and a long poll's socket is silent while it waits, so no socket inactivity timeout.
    http: { headersTimeout: options.headersTimeoutMs, connectionsCheckingInterval: 1000, requestTimeout: 0 },
    requestTimeout: 0,
    connectionTimeout: 0,
    keepAliveTimeout: 65_000,
    // Which proxy hops may set request.ip (X-Forwarded-For): the rate limits key on it.
    trustProxy: trustProxyOption(options.trustProxy),
    ...contractErrorOptions,
  });
}

/**
 * The API, assembled from plugins in the order they must see a request: connection bounds,
 * the error shape, CORS (before any route), the local-mode guard, the drain, the operations
 * routes, uploads (one request and resumable), tRPC, then the extra plugins (the web UI).
 */
export async function buildServer(deps: ServerDeps): Promise<ApiServer> {
  const { options } = deps;
  const app = createFastify(options, deps.log);
  const authenticate = createAuthenticator(options.auth);
  const longPolls = new LongPollSlots(options.longPolls);
  const stats = new ConnectionStats();
  // One count per owner for every way of making a job: uploads and re-runs.
  const jobCreations = new JobCreationRate(options.jobCreationsPerMinute);
  const authOff = !options.auth.apiTokens && !options.auth.signingKeys?.length;

  await app.register(connectionGuard, { maxConnections: options.maxConnections, stats });
  await app.register(contractErrorsPlugin, { closeOnRefusedUpload: true });
  await app.register(corsPlugin, { origins: options.corsOrigins });
  // Auth off (loopback, no keys): same-origin requests naming a loopback host only.
  if (authOff) await app.register(localModeGuard);
  await app.register(drainPlugin, { isDraining: deps.isDraining });
  await app.register(operationsPlugin, {
    healthDb: deps.healthDb,
    isDraining: deps.isDraining,
    beforeScrape: () => setApiGauges({ longPolls: longPolls.held, connections: stats.sockets }),
  });
  const { db, boss, files } = deps;
  await app.register(uploadPlugin, {
    db,
    boss,
    files,
    limits: options.uploads,
    authenticate,
    jobCreations,
    accepting: () => !deps.isDraining(),
  });
  await app.register(resumableUploadsPlugin, {
    db,
    boss,
    files,
    authenticate,
    limits: options.resumableUploads,
  });
  const context = createContext({
    requestDb: deps.requestDb,
    jobCreation: { db, boss, files, rate: jobCreations, rerunMaxInFlight: options.rerunMaxInFlight },
    changes: deps.changes,
    longPolls,
    watches: new WatchSlots(options.watches),
    authenticate,
    draining: deps.isDraining,
    hooks: deps.hooks ?? {},
  });
  await app.register(trpcPlugin, { context, ratePerSecond: options.trpcCallsPerSecond });

  for (const plugin of deps.plugins ?? []) await app.register(plugin);
  return { app, openRequests: () => stats.openRequests };
}
