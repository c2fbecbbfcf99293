import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { parseWebhookSecret } from './webhook-secret.ts';
import { GiB, intFromEnv } from './env-values.ts';

/** At most this many parts per split file, however many cores the fleet has. */
export const MAX_SPLIT_PARTS = 256;

/**
 * Keys per in-memory table before it spills (bench/cardinality.bench.ts, shared 2-vCPU VM):
 * at 250k the 1 GiB file with 10M customers and 1M products peaked at 369 MiB RSS (goal
 * ≤ 384) and ran at 0.52× the CPU-time speed of a same-size 100k-customer file, which never
 * spills (150 MiB). A lower threshold saves little: on a 64 MiB / 625k-customer file (with
 * the earlier Map-based table) 250k, 100k and 50k keys peaked at 364, 303 and 312 MiB, V8's
 * heap and buffers dominating, and 50k spilled twice the bytes.
 */
const SPILL_THRESHOLD_DEFAULT = 250_000;

/** Jobs and workers: how many run, how long, their bounds on a file, spilling, webhooks. */
export const jobsEnv = {
  /** Bound on what a gzip upload may inflate to: a zip bomb fails the job instead of the disk. */
  MAX_DECOMPRESSED_BYTES: intFromEnv(8 * GiB, 1),
  /**
   * Bound on what a gzip upload may inflate to per compressed byte, besides the absolute one:
   * a 10 MB bomb inflating to 8 GiB (ratio ~800) fails at its first MiBs instead of running
   * for minutes. Measured with gzip -1..-9: a realistic 10.6 MB revenue export 4.3–6.4×, rows
   * varying only in a counter and a date 15×, one row repeated a million times 412× (deflate's
   * ceiling is ~1,030×); 200 is 30× above the real export (test/security/gzip-bounds.test.ts).
   */
  MAX_DECOMPRESSION_RATIO: intFromEnv(200, 2),
  /** Largest single CSV record; one unclosed quote otherwise reads the whole file into one record. */
  MAX_RECORD_BYTES: intFromEnv(1024 * 1024, 1024),
  WORKER_CONCURRENCY: intFromEnv(2, 1, 256),
  /**
   * Fair share: a cap on one owner's running jobs across all workers (pg-boss group
   * concurrency). 0 (default): no cap; owners still take turns in the queue
   * (src/queue/fair-share.ts), so a second owner's job starts at the next free worker.
   */
  WORKER_MAX_RUNNING_PER_OWNER: intFromEnv(0, 0, 1000),
  /** pg-boss: seconds without a heartbeat before a running job is handed to another worker. */
  JOB_HEARTBEAT_SECONDS: intFromEnv(30, 10, 3600),
  /** pg-boss: hard cap on one attempt's run time. */
  JOB_EXPIRE_SECONDS: intFromEnv(3600, 60),
  JOB_RETRY_LIMIT: intFromEnv(3, 0, 100),
  /** Finished jobs (rows, results, stored bytes) are deleted this many days after they end. 0: kept forever. */
  JOB_RETENTION_DAYS: intFromEnv(0, 0, 36500),
  /** Private directory for an analysis's spilled per-key partial aggregates. */
  SPILL_DIR: z.string().min(1).default(path.join(os.tmpdir(), 'tally-spill')),
  /** Distinct keys (customers, products or regions of one currency) held in memory before a table spills. */
  SPILL_THRESHOLD_KEYS: intFromEnv(SPILL_THRESHOLD_DEFAULT, 1),
  /** Temporary disk one analysis may use for spilling; more fails the job with ANALYSIS_TOO_LARGE. */
  SPILL_MAX_BYTES: intFromEnv(8 * GiB, 1024 * 1024),
  /** Plain uploads of at least this many bytes are analysed in parts by every worker at once. */
  PARALLEL_ANALYSIS_MIN_BYTES: intFromEnv(256 * 1024 * 1024, 1),
  /**
   * Parts a big file is split into. `auto`: one per core that has a live worker process on it,
   * counted when the file is split (src/worker/split/fleet-parts.ts); a number: that many; 1 (or
   * `auto` with a single worker process): never split.
   */
  PARALLEL_ANALYSIS_PARTS: z
    .union([z.literal('auto'), z.coerce.number().int().min(1).max(MAX_SPLIT_PARTS)], {
      error: `must be auto or a whole number from 1 to ${MAX_SPLIT_PARTS}`,
    })
    .default('auto'),
  /** Where job events are POSTed (docs/reference.md, "webhooks"); needs WEBHOOK_SECRET. Unset: no webhooks. */
  WEBHOOK_URL: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  /** The Standard Webhooks signing secret, `whsec_<base64 of 24-64 random bytes>`. */
  WEBHOOK_SECRET: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      try {
        return parseWebhookSecret(v.trim());
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  /** One delivery attempt gets this long for the receiver's answer, then counts as failed. */
  WEBHOOK_TIMEOUT_MS: intFromEnv(10_000, 100, 120_000),
  /** First retry delay; each next one doubles (capped at 1 h), for at least 24 h in all. */
  WEBHOOK_RETRY_DELAY_SECONDS: intFromEnv(10, 1, 3600),
};
