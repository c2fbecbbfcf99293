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

const problem = nodeVersionProblem(process.version);
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
await import('./start-role.ts');
