/**
 * The OpenTelemetry Node SDK, started before the application is imported (src/main.ts
 * loads this first, and only when telemetryConfigured says so): instrumentation patches
 * modules as they load, so a module imported before this would go untraced, silently.
 *
 * Everything is configured by the standard OTEL_* variables the SDK reads itself
 * (endpoint, protocol, headers, service name, sampler). What it instruments:
 * - Fastify, with @fastify/otel (the Fastify auto-instrumentation it replaces was removed
 *   from OpenTelemetry's contrib): a request span and its handler's, registered on every Fastify
 *   instance as it is created;
 * - node-postgres: one span per query, with the statement's text — never its parameter
 *   values (`enhancedDatabaseReporting` stays off), which is where file bytes, cells and
 *   idempotency keys travel;
 * - pg-boss 12 makes its own spans (send, fetch, the handler's run) through the global
 *   tracer provider this registers; src/queue/boss.ts turns on `propagateContext`, so the
 *   worker's attempt continues the upload's trace.
 * Authorization headers are not recorded by either instrumentation.
 */
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { querySpanName } from './query-span-name.ts';

// No ESM loader hook (import-in-the-middle): neither instrumentation needs one. pg is
// CommonJS and requires its own lib/client.js and pg-pool, which require-in-the-middle
// patches however pg itself was imported (test/tracing/trace.test.ts sees the worker's SQL);
// @fastify/otel hooks Fastify through its diagnostics channel. The hook made every module
// of the process resolve through a loader thread: a worker took 3.0 s of CPU to start
// against 1.3 s without tracing; 1.9 s without the hook (2026-12-05, until /healthz answered).

// Spans per small job: 19 with every default (per upload, five Fastify hook spans and three
// pool checkouts beside the request, its handler and the SQL), 11 without the hook and
// connect spans, which say nothing the request, handler and query spans do not (counted with
// an OTLP/JSON receiver over 100 uploads). Exports went from 147 to 86 over bench T1's runs;
// P5 with tracing on kept 0.89× of off, against 0.88× with every span (2026-12-05, `npx tsx
// bench/integrations.bench.ts --tracing`, one run each): the traces are easier to read, P5
// barely notices.
const sdk = new NodeSDK({
  instrumentations: [
    new FastifyOtelInstrumentation({
      registerOnInitialization: true,
      // Health checks and scrapes every few seconds would drown the traces that matter.
      ignorePaths: (opts) => /^\/(healthz|readyz|metrics)\b/.test(opts.url),
      instrumentHooks: false,
    }),
    new PgInstrumentation({
      enhancedDatabaseReporting: false,
      requireParentSpan: true,
      ignoreConnectSpans: true,
      requestHook: (span, { query, connection }) => {
        if (query.name) span.updateName(querySpanName(query.text, connection.database));
      },
    }),
  ],
});
sdk.start();

/** Flushes and stops the SDK; src/lifecycle.ts's signal handling ends the process after. */
export async function stopTelemetry(): Promise<void> {
  await sdk.shutdown();
}

const flushOnExit = () => void sdk.shutdown().catch(() => undefined);
process.once('beforeExit', flushOnExit);
