/**
 * The OpenTelemetry Node SDK, started before the application is imported (src/main.ts
 * loads this first, and only when telemetryConfigured says so): instrumentation patches
 * modules as they load, so a module imported before this would go untraced, silently.
 *
 * Everything is configured by the standard OTEL_* variables the SDK reads itself
 * (endpoint, protocol, headers, service name, sampler). What it instruments:
 * - Fastify, with @fastify/otel (the Fastify auto-instrumentation it replaces was removed
 *   from OpenTelemetry's contrib): one span per request, registered on every Fastify
 *   instance as it is created;
 * - node-postgres: one span per query, with the statement's text — never its parameter
 *   values (`enhancedDatabaseReporting` stays off), which is where file bytes, cells and
 *   idempotency keys travel;
 * - pg-boss 12 makes its own spans (send, fetch, the handler's run) through the global
 *   tracer provider this registers; src/queue/boss.ts turns on `propagateContext`, so the
 *   worker's attempt continues the upload's trace.
 * Authorization headers are not recorded by either instrumentation.
 */
import { register } from 'node:module';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { NodeSDK } from '@opentelemetry/sdk-node';

// ESM: `import pg from 'pg'` is hooked through import-in-the-middle's loader, which must
// be registered before the application's modules are imported.
register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

const sdk = new NodeSDK({
  instrumentations: [
    new FastifyOtelInstrumentation({
      registerOnInitialization: true,
      // Health checks and scrapes every few seconds would drown the traces that matter.
      ignorePaths: (opts) => /^\/(healthz|readyz|metrics)\b/.test(opts.url),
    }),
    new PgInstrumentation({ enhancedDatabaseReporting: false, requireParentSpan: true }),
  ],
});
sdk.start();

/** Flushes and stops the SDK; src/lifecycle.ts's signal handling ends the process after. */
export async function stopTelemetry(): Promise<void> {
  await sdk.shutdown();
}

const flushOnExit = () => void sdk.shutdown().catch(() => undefined);
process.once('beforeExit', flushOnExit);
