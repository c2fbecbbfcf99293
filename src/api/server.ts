import { randomUUID } from 'node:crypto';
import { fastifyTRPCPlugin, type FastifyTRPCPluginOptions } from '@trpc/server/adapters/fastify';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { PgBoss } from 'pg-boss';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { createAuthenticator } from './auth.ts';
import { toErrorResponse } from './error-response.ts';
import type { JobChangeListener } from './job-change-listener.ts';
import { appRouter, type AppRouter } from './trpc/app-router.ts';
import type { Context } from './trpc/trpc.ts';
import { registerUploadRoute } from './upload/upload-route.ts';

export interface ServerDeps {
  config: Config;
  db: Db;
  boss: PgBoss;
  changes: JobChangeListener;
  log: Logger;
  /** Extra routes (the web UI) registered by the caller. */
  plugins?: ((app: FastifyInstance) => void | Promise<void>)[];
}

export interface ApiServer {
  app: FastifyInstance;
  /** Stop taking uploads (SIGTERM): in-flight requests finish, new uploads get 503. */
  stopAccepting(): void;
}

export async function buildServer(deps: ServerDeps): Promise<ApiServer> {
  let accepting = true;
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
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w-]{1,64}$/.test(given) ? given : randomUUID();
    },
    bodyLimit: 1024 * 1024, // JSON bodies (tRPC mutations); uploads bypass it through busboy
    // Headers must arrive promptly; bodies are policed by the upload's own idle timer.
    requestTimeout: 0,
    connectionTimeout: 0,
    keepAliveTimeout: 65_000,
  });
  const authenticate = createAuthenticator(deps.config.API_TOKENS);

  app.setErrorHandler((error, request, reply) => {
    const { status, body } = toErrorResponse(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: body.error.code, status }, 'request refused');
    // A refused upload's body may be mostly unread: close the connection rather than
    // reading gigabytes nobody wants.
    if (request.method === 'POST' && request.url.startsWith('/api/jobs'))
      void reply.header('connection', 'close');
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send({ error: { code: 'NOT_FOUND', message: `No route for ${request.method} ${request.url}.` } }),
  );

  app.get('/healthz', async (_request, reply) => {
    try {
      await deps.db.pool.query('select 1');
      return await reply.send({ ok: true });
    } catch {
      return reply
        .code(503)
        .send({ ok: false, error: { code: 'SERVICE_UNAVAILABLE', message: 'database unreachable' } });
    }
  });

  await registerUploadRoute(app, {
    db: deps.db,
    boss: deps.boss,
    config: deps.config,
    authenticate,
    accepting: () => accepting,
  });

  await app.register(fastifyTRPCPlugin, {
    prefix: '/trpc',
    trpcOptions: {
      router: appRouter,
      maxBodySize: 64 * 1024,
      createContext: ({ req }): Context => ({
        db: deps.db,
        boss: deps.boss,
        changes: deps.changes,
        authenticate,
        authorization: req.headers.authorization,
      }),
      onError: ({ error, path, req, input }) => {
        // req.log carries the request id; jobId when the procedure names a job.
        const jobId = (input as { jobId?: unknown } | undefined)?.jobId;
        if (error.code === 'INTERNAL_SERVER_ERROR')
          req.log.error({ err: error, path, jobId }, 'tRPC procedure failed');
      },
    },
  } satisfies FastifyTRPCPluginOptions<AppRouter>);

  for (const plugin of deps.plugins ?? []) await plugin(app);
  return { app, stopAccepting: () => (accepting = false) };
}
