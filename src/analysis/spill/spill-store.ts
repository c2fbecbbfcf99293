/**
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
  /** Stores `bytes` as one run; throws TallyError ANALYSIS_TOO_LARGE past the configured size. */
  write(bytes: Uint8Array, bounds: Int32Array): SpillRun;
  /** The bytes of partition `part` of `run`. */
  read(run: SpillRun, part: number): Buffer;
  remove(run: SpillRun): void;
}

/** What a table needs to spill: where to, and how many keys it may hold in memory first. */
export interface SpillSetup {
  readonly store: SpillStore;
  readonly thresholdKeys: number;
}
