import { fastifyTRPCPlugin, type FastifyTRPCPluginOptions } from '@trpc/server/adapters/fastify';
import type { FastifyInstance } from 'fastify';
import { toTallyError } from '../../http/error-response.ts';
import { OwnerRateLimit, callsInRequest, rateKeyOfAddress } from '../owner-rate-limit.ts';
import { appRouter, type AppRouter } from './app-router.ts';
import type { TrpcContext } from './context.ts';
import { statusRoute } from './status-route.ts';
import { watchRoute } from './watch-route.ts';
import { logProcedureFailure, toTrpcErrorResponse } from './trpc.ts';

export interface TrpcPluginOptions {
  context: TrpcContext;
  /** TRPC_RATE_LIMIT_PER_SECOND: calls per owner (or IP without a valid token) per second. */
  ratePerSecond: number;
}

/**
 * `/trpc`, an encapsulated scope: its own error shape for refusals before tRPC runs, its
 * own rate limit, the plain status route, then tRPC itself.
 */
export async function trpcPlugin(scope: FastifyInstance, opts: TrpcPluginOptions): Promise<void> {
  const { context } = opts;
  // Refusals before tRPC runs (the rate limit) in tRPC's error shape, which its clients read.
  scope.setErrorHandler((error, _request, reply) => {
    const { status, headers, body } = toTrpcErrorResponse(error);
    return reply.code(status).headers(headers).send(body);
  });
  // Per owner (or IP, without a valid token), before tRPC parses anything. A batch of N
  // calls costs N (docs/reference.md, "Watching and managing jobs"): one request of ~90 batched calls is 90 calls of work.
  const rate = new OwnerRateLimit(opts.ratePerSecond);
  scope.addHook('onRequest', async (request) => {
    // The owner of a valid reading token (the procedure checks scopes again); else the IP.
    const key = await context.shared.authenticate(request.headers.authorization, { scope: 'read' }).then(
      (owner) => `owner:${owner}`,
      () => rateKeyOfAddress(request.ip),
    );
    rate.take(key, callsInRequest(request.url)); // throws RATE_LIMITED
  });
  const trpcOptions: FastifyTRPCPluginOptions<AppRouter>['trpcOptions'] = {
    router: appRouter,
    maxBodySize: 64 * 1024,
    createContext: ({ req }) => context.forRequest(req.headers.authorization),
    // 429 and 503 say when to come back, as the HTTP routes do.
    responseMeta: ({ errors }) => {
      const after = errors.map((e) => toTallyError(e).retryAfterSeconds).find((s) => s !== undefined);
      return after === undefined ? {} : { headers: { 'retry-after': String(after) } };
    },
    // req.log carries the request id.
    onError: ({ error, path, req, input }) => logProcedureFailure(req.log, error, path, input),
  };
  // The plain status poll and watch first (a static path wins over tRPC's `/trpc/:path`).
  const routeOptions = { authenticate: context.shared.authenticate, deps: context.shared, trpcOptions };
  await scope.register(statusRoute, routeOptions);
  await scope.register(watchRoute, routeOptions);
  await scope.register(fastifyTRPCPlugin, { prefix: '/trpc', trpcOptions });
}
