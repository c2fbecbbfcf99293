/**
 * Entry point: `npm start` (everything), `npm start -- api`, `npm start -- worker`,
 * `npm start -- migrate` (the release step: migrations only, then exit).
 *
 * The Node.js check comes first, before the application is imported: on Node 20 the
 * dependencies (pg-boss 12, kysely 0.29) fail at import with errors that do not name the
 * cause, so a person would not know that upgrading Node is the fix. node-version.ts
 * imports nothing.
 */
import { nodeVersionProblem } from './lib/node-version.ts';
import { telemetryConfigured } from './telemetry/telemetry-configured.ts';

const problem = nodeVersionProblem(process.version);
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
// Traces (the OTEL_* variables): the SDK must load before any module it instruments, and not at
// all unless the OTEL_* variables ask for it.
if (telemetryConfigured(process.env)) await import('./telemetry/start-telemetry.ts');
await import('./start-role.ts');
