import type { KeyBudget } from '../aggregate/key-budget.ts';

/**
 * Why spill in-process rather than hand the grouping to PostgreSQL (measured on the shared
 * 2-vCPU dev VM, load ~15, 64 MiB file, 842,928 rows, 664k customers, 110k products):
 * `\copy` into an unlogged table 5.0 s, GROUP BY currency, customer (sum, count, distinct
 * months) 7.4 s, GROUP BY product 2.1 s: 14.5 s on top of the parse, which Node must still
 * do (the contract's dates and amounts are not PostgreSQL's). The whole in-process
 * analysis of that file, spilling, took 5.2–7.6 s of CPU against 3.7–3.9 s for a file of
 * the same size with 100k customers: spilling costs ~1.5–3 s, not ~15.
 *
 * Where spilled per-key partial aggregates go. The aggregation logic (totals.ts) only
 * talks to this interface; the file-backed implementation is `file-spill-store.ts`.
 *
 * A run is one flush of an in-memory table: its records grouped by partition, partition
 * `p` being the bytes `[bounds[p], bounds[p + 1])`. Runs are written once, read partition
 * by partition at the end of the analysis, and removed.
 */
export interface SpillRun {
  readonly bounds: Int32Array;
}

export interface SpillStore {
  /**
   * Stores `pieces`, one after another, as one run; throws TallyError ANALYSIS_TOO_LARGE
   * past the configured size. Pieces, not one buffer: a flush encodes each partition
   * apart (spill-run.ts), and joining them would hold a second copy of the run.
   */
  write(pieces: readonly Uint8Array[], bounds: Int32Array): SpillRun;
  /** The bytes of partition `part` of `run`: valid until the next `read`. */
  read(run: SpillRun, part: number): Buffer;
  remove(run: SpillRun): void;
}

/**
 * What a table needs to spill: where to, how many keys it may hold in memory first, and
 * (per analysis) the budget of key bytes all its tables share.
 */
export interface SpillSetup {
  readonly store: SpillStore;
  readonly thresholdKeys: number;
  /** Bytes of keys all tables may hold together (default KEY_BYTES_BUDGET, 64 MiB). */
  readonly budgetBytes?: number;
  readonly budget?: KeyBudget;
}
