import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { TallyError } from '../errors.ts';
import { toErrorResponse } from '../http/error-response.ts';

/** The routes that must keep answering while the process drains (balancers read them). */
const OPERATIONS_ROUTES = /^\/(healthz|readyz|metrics)(\?|$)/;

/**
 * Draining: everything but the operations routes gets 503, so a client retries on another
 * instance instead of meeting a refused connection once we stop listening. A root hook
 * (fastify-plugin): it sees every route.
 */
export const drainPlugin = fp((app: FastifyInstance, opts: { isDraining: () => boolean }, done) => {
  app.addHook('onRequest', (request, reply, next) => {
    if (!opts.isDraining() || OPERATIONS_ROUTES.test(request.url)) return next();
    const { status, headers, body } = toErrorResponse(
      new TallyError('SERVICE_UNAVAILABLE', 'The server is shutting down; retry in a moment.', undefined, {
        retryAfterSeconds: 1,
      }),
    );
    void reply.code(status).headers(headers).header('connection', 'close').send(body);
  });
  done();
});
