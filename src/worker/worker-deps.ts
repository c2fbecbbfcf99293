import type { PgBoss } from 'pg-boss';
import type { Db } from '../db/database.ts';
import type { WorkerMachine } from '../db/workers/worker-processes.ts';
import type { StoredFiles } from '../files/stored-files.ts';
import type { Logger } from '../logger.ts';
import type { SettledAhead } from '../queue/settled-ahead.ts';
import type { BatchEndings } from './batch-endings.ts';
import type { OwnPartGate } from './split/own-part-gate.ts';
import type { AttemptStartsOnClaim } from './start-on-claim.ts';

/** What a worker's attempts need, given once by the worker role (src/roles/worker-role.ts). */
export interface WorkerDeps {
  db: Db;
  /** Where the jobs' bytes are read from (src/files/); reads are verified. */
  files: StoredFiles;
  log: Logger;
  retryLimit: number;
  maxRecordBytes: number;
  maxDecompressedBytes: number;
  /** MAX_DECOMPRESSION_RATIO; unset: no ratio bound. */
  maxDecompressionRatio?: number;
  /** Spilling of per-key tables (SPILL_DIR, SPILL_THRESHOLD_KEYS, SPILL_MAX_BYTES); none: all in memory. */
  spill?: { dir: string; thresholdKeys: number; maxBytes: number };
  /** How often progress is written (and cancellation noticed). */
  progressIntervalMs?: number;
  /** One big plain file analysed by every worker at once (PARALLEL_ANALYSIS_*); none: never split. */
  split?: SplitSettings;
  /** Attempts started by the claim's own statement (start-on-claim.ts); none: each starts on its own. */
  startsOnClaim?: AttemptStartsOnClaim;
  /**
   * Entries completed in the attempt's final statement (queue/settled-ahead.ts), with the
   * analysis queue's table; none: pg-boss completes each entry with a statement of its own.
   */
  settleAhead?: { entries: SettledAhead; schema: string; table: string };
  /**
   * The final writes of the claim's batch this attempt is in, sent together once every job
   * of the batch has its own (batch-endings.ts); none: each attempt writes its own.
   */
  endings?: BatchEndings;
  /** Test hooks for fault injection; never set in production. */
  hooks?: WorkerHooks;
}

export interface WorkerHooks {
  /**
   * Wraps the stored file's byte stream: a test can slow it down, stall it or break it.
   * `signal` is the attempt's abort signal, so a test can hold the attempt until it sees
   * the cancel noticed.
   */
  wrapSource?: (jobId: string, source: AsyncIterable<Buffer>, signal: AbortSignal) => AsyncIterable<Buffer>;
  /** Called just before the result is written: a test can stall the attempt here. */
  beforeFinish?: (jobId: string) => void | Promise<void>;
}

/** PARALLEL_ANALYSIS_*: when and how a big plain file is analysed by every worker at once. */
export interface SplitSettings {
  boss: PgBoss;
  /** Plain files of at least this many stored bytes are split. */
  minBytes: number;
  /** PARALLEL_ANALYSIS_PARTS: a number of parts, or `auto` (split/fleet-parts.ts, from `liveMachines`). */
  parts: number | 'auto';
  /** The machines with live worker processes (worker-presence.ts); without it `auto` never splits. */
  liveMachines?: () => Promise<WorkerMachine[]>;
  /** Stops this process taking parts while it runs its own part of a split (split/own-part-gate.ts); none: never stopped. */
  ownPartGate?: OwnPartGate;
}
