import { randomUUID } from 'node:crypto';
import { fastifyTRPCPlugin, type FastifyTRPCPluginOptions } from '@trpc/server/adapters/fastify';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { PgBoss } from 'pg-boss';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import { TallyError } from '../errors.ts';
import type { StoredFiles } from '../files/stored-files.ts';
import type { Logger } from '../logger.ts';
import { operationsPlugin } from '../observability/operations-plugin.ts';
import { setApiGauges } from '../observability/metrics.ts';
import type { ApiHooks } from './api-hooks.ts';
import { createAuthenticator } from './auth.ts';
import { ConnectionStats, connectionGuard } from './connection-guard.ts';
import { contractErrorOptions, contractErrorsPlugin } from '../http/contract-errors.ts';
import { registerCors } from './cors.ts';
import { toErrorResponse, toTallyError } from '../http/error-response.ts';
import { localModeGuard } from './local-mode-guard.ts';
import type { JobChangeListener } from './job-change-listener.ts';
import { LongPollSlots } from './long-poll-slots.ts';
import { JobCreationRate } from './job-creation-rate.ts';
import { OwnerRateLimit, callsInRequest, rateKeyOfAddress } from './owner-rate-limit.ts';
import { appRouter, type AppRouter } from './trpc/app-router.ts';
import type { StatusDeps } from './trpc/job-status-query.ts';
import { statusRoute } from './trpc/status-route.ts';
import { watchRoute } from './trpc/watch-route.ts';
import { WatchSlots } from './trpc/watch-slots.ts';
import { logProcedureFailure, toTrpcErrorResponse, type Context } from './trpc/trpc.ts';
import { registerUploadRoute } from './upload/upload-route.ts';
import { resumableUploadsPlugin } from './resumable/resumable-plugin.ts';

export interface ServerDeps {
  config: Config;
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

/** The routes that must keep answering while the process drains (balancers read them). */
const OPERATIONS_ROUTES = /^\/(healthz|readyz|metrics)(\?|$)/;

export interface ApiServer {
  app: FastifyInstance;
  /** Requests received and not yet answered. */
  openRequests(): number;
}

/** A hop count as Fastify applies it (its types take no number): the nearest `hops` proxies are trusted. */
function trustProxyOption(value: Config['TRUST_PROXY']) {
  return typeof value === 'number' ? (_address: string, hop: number) => hop < value : value;
}

export async function buildServer(deps: ServerDeps): Promise<ApiServer> {
  const { config } = deps;
  // Typed as Fastify's base logger so the app keeps Fastify's default generics.
  const loggerInstance: FastifyBaseLogger = deps.log;
  const app: FastifyInstance = Fastify({
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
    http: { headersTimeout: config.HEADERS_TIMEOUT_MS, connectionsCheckingInterval: 1000, requestTimeout: 0 },
    requestTimeout: 0,
    connectionTimeout: 0,
    keepAliveTimeout: 65_000,
    // Which proxy hops may set request.ip (X-Forwarded-For): the rate limits key on it.
    trustProxy: trustProxyOption(config.TRUST_PROXY),
    ...contractErrorOptions,
  });
  await registerCors(app, config.CORS_ORIGINS); // before any route, so every route gets its hook
  const authenticate = createAuthenticator({
    apiTokens: config.API_TOKENS,
    signingKeys: config.TOKEN_SIGNING_KEYS,
    issuer: config.TOKEN_ISSUER,
    audience: config.TOKEN_AUDIENCE,
  });
  const longPolls = new LongPollSlots({
    perOwner: config.LONG_POLLS_PER_OWNER,
    total: config.LONG_POLLS_MAX,
  });
  const watches = new WatchSlots({
    perOwner: config.WATCH_STREAMS_PER_OWNER,
    total: config.WATCH_STREAMS_MAX,
  });

  const statusDeps: StatusDeps = {
    db: deps.requestDb,
    changes: deps.changes,
    longPolls,
    draining: deps.isDraining,
    hooks: deps.hooks ?? {},
  };

  const stats = new ConnectionStats();
  await app.register(connectionGuard, { maxConnections: config.MAX_CONNECTIONS, stats });
  await app.register(contractErrorsPlugin, { closeOnRefusedUpload: true });
  // Auth off (loopback, no keys): same-origin requests naming a loopback host only (§6).
  if (!config.API_TOKENS && !config.TOKEN_SIGNING_KEYS?.length) await app.register(localModeGuard);

  // Draining: everything but the operations routes gets 503, so a client retries on
  // another instance instead of meeting a refused connection once we stop listening.
  app.addHook('onRequest', (request, reply, done) => {
    if (!deps.isDraining() || OPERATIONS_ROUTES.test(request.url)) return done();
    const { status, headers, body } = toErrorResponse(
      new TallyError('SERVICE_UNAVAILABLE', 'The server is shutting down; retry in a moment.', undefined, {
        retryAfterSeconds: 1,
      }),
    );
    void reply.code(status).headers(headers).header('connection', 'close').send(body);
  });

  await app.register(operationsPlugin, {
    healthDb: deps.healthDb,
    isDraining: deps.isDraining,
    beforeScrape: () => setApiGauges({ longPolls: longPolls.held, connections: stats.sockets }),
  });

  // One count per owner for every way of making a job: uploads and re-runs.
  const jobCreations = new JobCreationRate(config.UPLOAD_RATE_LIMIT_PER_MINUTE);
  registerUploadRoute(app, {
    db: deps.db,
    boss: deps.boss,
    files: deps.files,
    config,
    authenticate,
    jobCreations,
    accepting: () => !deps.isDraining(),
  });
  await app.register(resumableUploadsPlugin, {
    db: deps.db,
    boss: deps.boss,
    files: deps.files,
    authenticate,
    config,
  });

  await app.register(async (trpcScope) => {
    // Refusals before tRPC runs (the rate limit) in tRPC's error shape, which its clients read.
    trpcScope.setErrorHandler((error, _request, reply) => {
      const { status, headers, body } = toTrpcErrorResponse(error);
      return reply.code(status).headers(headers).send(body);
    });
    // Per owner (or IP, without a valid token), before tRPC parses anything. A batch of N
    // calls costs N (CONTRACT §3): one request of ~90 batched calls is 90 calls of work.
    const rate = new OwnerRateLimit(config.TRPC_RATE_LIMIT_PER_SECOND);
    trpcScope.addHook('onRequest', async (request) => {
      // The owner of a valid reading token (the procedure checks scopes again); else the IP.
      const key = await authenticate(request.headers.authorization, { scope: 'read' }).then(
        (owner) => `owner:${owner}`,
        () => rateKeyOfAddress(request.ip),
      );
      rate.take(key, callsInRequest(request.url)); // throws RATE_LIMITED
    });
    const trpcOptions: FastifyTRPCPluginOptions<AppRouter>['trpcOptions'] = {
      router: appRouter,
      maxBodySize: 64 * 1024,
      createContext: ({ req }): Context => ({
        ...statusDeps,
        jobCreation: {
          db: deps.db,
          boss: deps.boss,
          files: deps.files,
          rate: jobCreations,
          rerunMaxInFlight: config.RERUN_MAX_IN_FLIGHT,
        },
        watches,
        authenticate,
        authorization: req.headers.authorization,
      }),
      // 429 and 503 say when to come back, as the HTTP routes do.
      responseMeta: ({ errors }) => {
        const after = errors.map((e) => toTallyError(e).retryAfterSeconds).find((s) => s !== undefined);
        return after === undefined ? {} : { headers: { 'retry-after': String(after) } };
      },
      // req.log carries the request id.
      onError: ({ error, path, req, input }) => logProcedureFailure(req.log, error, path, input),
    };
    // The plain status poll and watch first (a static path wins over tRPC's `/trpc/:path`).
    await trpcScope.register(statusRoute, { authenticate, deps: statusDeps, trpcOptions });
    await trpcScope.register(watchRoute, { authenticate, deps: { ...statusDeps, watches }, trpcOptions });
    await trpcScope.register(fastifyTRPCPlugin, { prefix: '/trpc', trpcOptions });
  });

  for (const plugin of deps.plugins ?? []) await app.register(plugin);
  return { app, openRequests: () => stats.openRequests };
}
