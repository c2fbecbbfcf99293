import { sql, type RawBuilder } from 'kysely';
import type { PgBoss, SendOptions } from 'pg-boss';

/**
 * pg-boss's insert of one queue entry, as its `send` would run it, to be put inside another
 * statement: the one that inserts the job row (job-lifecycle/create-job.ts), so that a new
 * job is one statement, not a transaction of four round trips (begin, the job row, pg-boss's
 * insert, commit). One statement is as atomic as the transaction was: the row and its entry
 * commit together or not at all.
 *
 * Taken from `send` itself (with a `db` that keeps the statement instead of running it), so
 * the entry is what pg-boss makes of the options: its table, retry and retention defaults,
 * group, trace context, and the NOTIFY that wakes the workers.
 */
export interface EntryInsert {
  /**
   * Common table expressions: `ins`, the entries inserted from `entries` (pg-boss's JSON
   * array; none when it is empty) returning `id` and, when the queue notifies, `notified`,
   * which the statement must read for its NOTIFY to be sent.
   */
  ctes(entries: RawBuilder<unknown>): RawBuilder<unknown>;
  /** The JSON array of the one entry, as pg-boss made it (text). */
  readonly json: string;
  readonly notifies: boolean;
}

/** pg-boss's insert with its NOTIFY (plans.insertJobs with `notify`), and without it. */
const NOTIFYING =
  /^\s*WITH\s+(ins AS \([\s\S]*\),\s*notified AS \([\s\S]*\))\s*SELECT id FROM ins WHERE \(SELECT count\(\*\) FROM notified\) >= 0\s*$/;
const PLAIN = /^\s*INSERT INTO [\s\S]*RETURNING id\s*$/;
/** Its one parameter, the JSON array of entries. */
const ENTRIES = '$1::text::json';

/**
 * Runs `boss.send(queue, data, options)` without sending anything and returns its insert,
 * or undefined when its statement is not of the shape this module knows (a pg-boss upgrade
 * that changed it): the caller then sends in a transaction as before.
 */
export async function entryInsertOf(
  boss: PgBoss,
  queue: string,
  data: object,
  options: SendOptions & { id: string },
): Promise<EntryInsert | undefined> {
  const sent: { text: string; values: unknown[] | undefined }[] = [];
  const keep = {
    executeSql: (text: string, values?: unknown[]) => {
      sent.push({ text, values });
      return Promise.resolve({ rows: [{ id: options.id }] }); // inserted, as far as send knows
    },
  };
  await boss.send(queue, data, { ...options, db: keep });
  if (sent.length !== 1) return undefined;
  const [{ text, values }] = sent as [(typeof sent)[0]];
  const json = values?.[0];
  if (values?.length !== 1 || typeof json !== 'string') return undefined;
  const notifying = NOTIFYING.exec(text);
  const body = notifying?.[1] ?? (PLAIN.test(text) ? `ins AS (${text})` : undefined);
  if (body === undefined) return undefined;
  // Exactly one parameter, at the entries: no other `$n` left beside it.
  const [before, after, ...more] = body.split(ENTRIES);
  if (after === undefined || more.length > 0 || /\$\d/.test(before! + after)) return undefined;
  return {
    ctes: (entries) => sql`${sql.raw(before!)}(${entries})::text::json${sql.raw(after)}`,
    json,
    notifies: notifying !== null,
  };
}
