import type { QueryResult } from 'pg';
import * as plans from 'pg-boss/dist/plans.js';

/** A pg-boss entry a handler holds: its queue, its table, its id and the attempt it was fetched at. */
export interface HeldEntry {
  schema: string;
  table: string;
  queue: string;
  id: string;
  retryCount: number;
}

/**
 * Entries a handler completed in its own statement (db/jobs/finish-attempt.ts writes the
 * job's final state and completes its pg-boss entry together), so that the completion
 * pg-boss's `work()` sends when the handler returns need not go to the database: it is
 * answered here, as the database would have answered it. One round trip and one commit
 * fewer per job.
 *
 * Only pg-boss's own completion of exactly those entries at exactly those attempts is
 * answered (its text as the installed pg-boss makes it: plans.completeJobs, fenced by
 * attempt). Anything else, a pg-boss upgrade that changes that text included, goes to the
 * database as before, where it finds the entry already completed and changes nothing
 * (test/worker/settled-ahead.test.ts).
 */
export class SettledAhead {
  /** `id:retryCount` of each entry settled ahead, by queue. */
  readonly #settled = new Map<string, Set<string>>();
  /** pg-boss's completion text, by queue (its table's). */
  readonly #completeText = new Map<string, string>();

  /** Answers pg-boss's completions of `entry.queue`'s entries that were settled ahead. */
  track(entry: Pick<HeldEntry, 'schema' | 'table' | 'queue'>): void {
    this.#completeText.set(entry.queue, plans.completeJobs(entry.schema, entry.table, undefined, true));
  }

  /** `entry` was completed by the handler's own statement. */
  add(entry: HeldEntry): void {
    let settled = this.#settled.get(entry.queue);
    if (settled === undefined) this.#settled.set(entry.queue, (settled = new Set()));
    settled.add(`${entry.id}:${entry.retryCount}`);
  }

  /** Forgets `entry` (its handler failed after all: pg-boss's own settle must go through). */
  delete(entry: HeldEntry): void {
    this.#settled.get(entry.queue)?.delete(`${entry.id}:${entry.retryCount}`);
  }

  /**
   * pg-boss's answer to `text` when it completes entries that were all settled ahead
   * (forgotten once answered), else undefined: send it to the database.
   */
  answer(text: string, values: unknown[] | undefined): QueryResult | undefined {
    if (values?.length !== 4) return undefined;
    const [queue, ids, , attempts] = values;
    if (typeof queue !== 'string' || this.#completeText.get(queue) !== text) return undefined;
    const settled = this.#settled.get(queue);
    if (settled === undefined || !Array.isArray(ids) || !Array.isArray(attempts)) return undefined;
    if (attempts.length !== ids.length) return undefined;
    const all = attempts.every((a) => settled.has(String(a)));
    // Forgotten either way: a batch completed partly ahead (worker/run-claimed-jobs.ts) goes
    // to the database, where the entries already completed are left as they are.
    for (const a of attempts) settled.delete(String(a));
    if (!all) return undefined;
    // As plans.settledCountAndIds answers: the count (as text, like COUNT(*)) and the ids.
    return {
      command: 'SELECT',
      rowCount: 1,
      oid: 0,
      fields: [],
      rows: [{ count: String(ids.length), ids: ids.map(String) }],
    };
  }
}
