import type { FastifyInstance } from 'fastify';
import type { Db } from '../db/database.ts';
import { countJobsInFlight } from './count-jobs-in-flight.ts';
import { observeHttpRequest, registry, setJobsInFlight } from './metrics.ts';
import { createReadinessCheck } from './readiness.ts';

/**
 * `GET /metrics` (Prometheus text), `GET /readyz`, and request latency for every route.
 *
 * Both answer without a token, like /healthz: they carry counts, never job data. On a
 * public listener, keep /metrics off the internet at the proxy (docs/operations.md).
 */
export function metricsPlugin(
  db: Db,
  /** True once the process is shutting down: /readyz says 503 so balancers drain it. */
  isDraining: () => boolean = () => false,
): (app: FastifyInstance) => void {
  const readiness = createReadinessCheck(db.kysely);
  return (app) => {
    // A root hook: Fastify applies it to routes registered before it too.
    app.addHook('onResponse', (request, reply, done) => {
      // The route pattern ("/trpc/:path"), never the raw URL: label values must stay few.
      const route = request.routeOptions.url ?? 'unmatched';
      observeHttpRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
      done();
    });

    app.get('/metrics', async (request, reply) => {
      try {
        setJobsInFlight(await countJobsInFlight(db.kysely));
      } catch (error) {
        // Serve the in-process metrics anyway; the gauge keeps its last value.
        request.log.warn({ err: error }, 'could not count jobs for /metrics');
      }
      return reply.header('content-type', registry.contentType).send(await registry.metrics());
    });

    app.get('/readyz', async (_request, reply) => {
      if (isDraining()) {
        return reply
          .code(503)
          .send({ ok: false, error: { code: 'SERVICE_UNAVAILABLE', message: 'shutting down' } });
      }
      const state = await readiness();
      return state.ready
        ? reply.send({ ok: true })
        : reply.code(503).send({ ok: false, error: { code: 'SERVICE_UNAVAILABLE', message: state.reason } });
    });
  };
}
