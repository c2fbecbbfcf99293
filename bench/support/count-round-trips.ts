/**
 * Preloaded into a Tally process (`NODE_OPTIONS='--import tsx --import …/count-round-trips.ts'`) by the
 * round-trip count of bench/one-job.bench.ts: counts every `pg.Client#query` (each is one
 * round trip to PostgreSQL: node-postgres sends one query at a time per connection), keyed
 * by the statement's first words. On SIGUSR2 it writes the counts so far to
 * `$COUNT_ROUND_TRIPS_FILE`, so the bench diffs two snapshots around the measured jobs.
 * Beside each count it sums the milliseconds from the call to its answer (a promise's
 * settling): the statement's round trip plus any wait in the client's own queue.
 */
import { renameSync, writeFileSync } from 'node:fs';
import pg from 'pg';

const counts = new Map<string, number>();
const millis = new Map<string, number>();
type Query = (this: pg.Client, config: unknown, ...rest: unknown[]) => unknown;
// eslint-disable-next-line @typescript-eslint/unbound-method -- called with the client as `this` below
const original = pg.Client.prototype.query as unknown as Query;
const counted: Query = function countedQuery(config, ...rest) {
  const submitted = config as { text?: string; constructor?: { name?: string } } | undefined;
  const text = typeof config === 'string' ? config : (submitted?.text ?? submitted?.constructor?.name ?? '?');
  const key = String(text)
    .replace(/\s+/g, ' ')
    .replace(/'[0-9a-f-]{36}'/g, '$id')
    .trim()
    .slice(0, 90);
  counts.set(key, (counts.get(key) ?? 0) + 1);
  const called = performance.now();
  const timed = () => millis.set(key, (millis.get(key) ?? 0) + performance.now() - called);
  // pg-pool passes a callback (no promise comes back): time its call instead.
  const last = rest.length - 1;
  const callback = rest[last];
  if (typeof callback === 'function')
    rest[last] = (...args: unknown[]) => {
      timed();
      return (callback as (...a: unknown[]) => unknown)(...args);
    };
  const answer = original.call(this, config, ...rest);
  if (answer instanceof Promise) answer.then(timed, timed);
  return answer;
};
(pg.Client.prototype as unknown as { query: Query }).query = counted;
process.on('SIGUSR2', () => {
  const file = process.env.COUNT_ROUND_TRIPS_FILE;
  if (!file) return;
  // Written aside, then renamed: the bench reads the file as soon as it exists.
  const snapshot = { counts: Object.fromEntries(counts), millis: Object.fromEntries(millis) };
  writeFileSync(`${file}.tmp`, JSON.stringify(snapshot));
  renameSync(`${file}.tmp`, file);
});
