import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { toErrorResponse } from '../http/error-response.ts';
import type { Db } from '../db/database.ts';
import { TallyError } from '../errors.ts';
import { countJobsInFlight } from './count-jobs-in-flight.ts';
import { observeHttpRequest, registry, setJobsInFlight } from './metrics.ts';
import { createReadinessCheck } from './readiness.ts';

export interface OperationsOptions {
  /** Its own connection (createHealthDb), not the request pool: see there why. */
  healthDb: Db;
  /** True once the process is shutting down: /readyz says 503 so balancers drain it. */
  isDraining?: () => boolean;
  /** Sets in-process gauges just before a scrape. */
  beforeScrape?: () => void;
}

/**
 * The routes operators and balancers use, in one shape on every server that has them
 * (the API and a worker's METRICS_PORT register this same plugin):
 *   GET /healthz  200 {"ok":true} while PostgreSQL answers
 *   GET /readyz   200 {"ok":true} when it also has every migration and is not draining
 *   GET /metrics  Prometheus text
 * and the contract's error body with 503 otherwise. Request latency for every route.
 *
 * No token: they carry counts, never job data. On a public listener, keep /metrics off
 * the internet at the proxy (docs/operations.md).
 */
/** What /healthz says when PostgreSQL does not answer: no driver or server text. */
export const DATABASE_DOWN = 'The database is unreachable; retry shortly.';

export const operationsPlugin = fp(
  (app: FastifyInstance, opts: OperationsOptions) => {
    const readiness = createReadinessCheck(opts.healthDb.kysely);
    const unavailable = (message: string) => {
      const { status, headers, body } = toErrorResponse(
        new TallyError('SERVICE_UNAVAILABLE', message, undefined, { retryAfterSeconds: 5 }),
      );
      return { status, headers, body };
    };

    // A root hook (fastify-plugin): it sees every route, including those registered before.
    app.addHook('onResponse', (request, reply, done) => {
      // The route pattern ("/trpc/:path"), never the raw URL: label values must stay few.
      const route = request.routeOptions.url ?? 'unmatched';
      observeHttpRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
      done();
    });

    app.get('/healthz', async (request, reply) => {
      try {
        await opts.healthDb.pool.query('select 1');
        return await reply.send({ ok: true });
      } catch (error) {
        // The driver's text (host names, ports, role names, server messages) goes to the
        // log only: these routes answer anyone who can reach the port, without a token.
        request.log.warn({ err: error }, '/healthz: the database is unreachable');
        const down = unavailable(DATABASE_DOWN);
        return reply.code(down.status).headers(down.headers).send(down.body);
      }
    });

    app.get('/readyz', async (request, reply) => {
      const state = opts.isDraining?.()
        ? ({ ready: false, reason: 'The process is shutting down.' } as const)
        : await readiness((error) =>
            request.log.warn({ err: error }, '/readyz: the database is unreachable'),
          );
      if (state.ready) return reply.send({ ok: true });
      const down = unavailable(state.reason);
      return reply.code(down.status).headers(down.headers).send(down.body);
    });

    app.get('/metrics', async (request, reply) => {
      opts.beforeScrape?.();
      try {
        setJobsInFlight(await countJobsInFlight(opts.healthDb.kysely));
      } catch (error) {
        // Serve the in-process metrics anyway; the gauge keeps its last value.
        request.log.warn({ err: error }, 'could not count jobs for /metrics');
      }
      return reply.header('content-type', registry.contentType).send(await registry.metrics());
    });
  },
  { name: 'tally-operations' },
);
