import { randomUUID } from 'node:crypto';
import type { Job } from 'pg-boss';
import { jobOptionsSchema } from '../analysis/options.ts';
import { FileSpillStore } from '../analysis/spill/file-spill-store.ts';
import { claimAttempt } from '../db/jobs/claim-attempt.ts';
import { readFileChunks } from '../db/jobs/file-chunks.ts';
import { finishAttempt } from '../db/jobs/finish-attempt.ts';
import { attemptIsCurrent, recordProgress } from '../db/jobs/record-progress.ts';
import type { Db } from '../db/database.ts';
import { isInputError, TallyError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { observeAttemptFinished, observeAttemptStarted } from '../observability/metrics.ts';
import type { AnalysisJobData } from '../queue/boss.ts';
import { analyzeCsvStream } from './analyze-stream.ts';

export interface WorkerDeps {
  db: Db;
  log: Logger;
  retryLimit: number;
  maxRecordBytes: number;
  maxDecompressedBytes: number;
  /** Spilling of per-key tables (SPILL_DIR, SPILL_THRESHOLD_KEYS, SPILL_MAX_BYTES); none: all in memory. */
  spill?: { dir: string; thresholdKeys: number; maxBytes: number };
  /** How often progress is written (and cancellation noticed). */
  progressIntervalMs?: number;
  /** Test hooks for fault injection; never set in production. */
  hooks?: WorkerHooks;
}

export interface WorkerHooks {
  /** Wraps the stored file's byte stream: a test can slow it down, stall it or break it. */
  wrapSource?: (jobId: string, source: AsyncIterable<Buffer>) => AsyncIterable<Buffer>;
  /** Called just before the result is written: a test can stall the attempt here. */
  beforeFinish?: (jobId: string) => void | Promise<void>;
}

/** Why an attempt stopped early without an error of its own. */
class AttemptSuperseded extends Error {
  override readonly name = 'AttemptSuperseded';
}

/**
 * One attempt at one job: claim it under a fresh attempt token, stream its stored file
 * through the analysis, and write the result and final state in one guarded statement.
 *
 * Outcomes, and what pg-boss is told:
 * - completed, or failed on bad input (retrying cannot help): handler returns → pg-boss completes;
 * - cancelled or fenced off by a newer attempt: stop quietly, write nothing → completes;
 * - transient error (connection lost…): the row goes back to `queued` and the handler
 *   throws, so pg-boss retries; on the last attempt the row fails with RETRIES_EXHAUSTED.
 */
export async function runAnalysisJob(deps: WorkerDeps, job: Job<AnalysisJobData>): Promise<void> {
  const { jobId } = job.data;
  const token = randomUUID();
  // reqId: the upload request's id (Fastify's), so one grep follows a job from API to worker.
  const log = deps.log.child({ jobId, reqId: job.data.requestId, pgBossRetry: job.retryCount });
  const claimed = await claimAttempt(deps.db.kysely, jobId, token);
  if (!claimed) {
    log.info('job is already final (cancelled or finished by an earlier attempt); nothing to do');
    return;
  }
  log.info({ attempt: claimed.attempts, bytes: claimed.bytes }, 'attempt started');
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  observeAttemptStarted(jobId, claimed.attempts);

  const abort = new AbortController();
  const onPgBossAbort = () => abort.abort(job.signal.reason);
  job.signal.addEventListener('abort', onPgBossAbort, { once: true });

  // Progress lives in memory and is written at most every interval: one UPDATE per job a
  // few times a second, however many rows fly by. The same write tells us whether we
  // still own the job (cancel, or a newer attempt, clears our token).
  let latest = { bytesProcessed: 0, rowsProcessed: 0 };
  let written = latest;
  let checking = false;
  const timer = setInterval(() => {
    if (checking) return;
    checking = true;
    const current = latest;
    const write =
      current === written
        ? attemptIsCurrent(deps.db.kysely, jobId, token)
        : recordProgress(deps.db.kysely, jobId, token, current);
    write
      .then((stillOurs) => {
        written = current;
        if (!stillOurs)
          abort.abort(new AttemptSuperseded('the job was cancelled or taken over by another attempt'));
      })
      .catch((error: unknown) => log.warn({ err: error }, 'progress write failed; will retry'))
      .finally(() => (checking = false));
  }, deps.progressIntervalMs ?? 250);

  // One private spill directory per attempt, removed in `finally` on every outcome.
  const spillStore = deps.spill ? new FileSpillStore(deps.spill.dir, deps.spill.maxBytes) : undefined;
  try {
    const options = jobOptionsSchema.parse(claimed.options);
    const stored = readFileChunks(deps.db.pool, jobId);
    const result = await analyzeCsvStream(
      deps.hooks?.wrapSource?.(jobId, stored) ?? stored,
      { filename: claimed.filename, bytes: claimed.bytes, options },
      {
        signal: abort.signal,
        maxRecordBytes: deps.maxRecordBytes,
        maxDecompressedBytes: deps.maxDecompressedBytes,
        ...(spillStore ? { spill: { store: spillStore, thresholdKeys: deps.spill!.thresholdKeys } } : {}),
        onProgress: (p) => {
          latest = p;
        },
      },
    );
    await deps.hooks?.beforeFinish?.(jobId);
    const won = await finishAttempt(deps.db.kysely, jobId, token, {
      state: 'completed',
      result,
      bytesProcessed: claimed.bytes,
      rowsProcessed: result.rows.total,
    });
    observeAttemptFinished(won ? 'completed' : 'superseded', seconds(), won ? result.rows.total : 0);
    if (won)
      log.info({ ms: Math.round(performance.now() - started), rows: result.rows.total }, 'job completed');
    else log.warn('result discarded: the job was cancelled or taken over by a newer attempt');
  } catch (error) {
    if (abort.signal.reason instanceof AttemptSuperseded) {
      observeAttemptFinished('superseded', seconds());
      log.info('attempt stopped: the job was cancelled or taken over by another attempt');
      return;
    }
    if (isInputError(error)) {
      await finishAttempt(deps.db.kysely, jobId, token, {
        state: 'failed',
        code: error.code,
        message: error.message,
        details: error.details,
      });
      observeAttemptFinished('failed', seconds());
      log.info({ code: error.code }, 'job failed on its input');
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    if (job.retryCount >= deps.retryLimit) {
      observeAttemptFinished('failed', seconds());
      log.error({ err: error }, 'job failed: retries exhausted');
      await finishAttempt(deps.db.kysely, jobId, token, {
        state: 'failed',
        code: 'RETRIES_EXHAUSTED',
        message: `The job failed ${job.retryCount + 1} times; last error: ${message}`,
      });
      return;
    }
    observeAttemptFinished('retry', seconds());
    log.warn({ err: error }, 'attempt failed; pg-boss will retry');
    await finishAttempt(deps.db.kysely, jobId, token, {
      state: 'queued',
      code: error instanceof TallyError ? error.code : 'TRANSIENT',
      message: `Attempt ${claimed.attempts} failed (${message}); retrying.`,
    }).catch((e: unknown) =>
      log.warn({ err: e }, 'could not hand the job back; the next attempt will take it over'),
    );
    throw error;
  } finally {
    spillStore?.close();
    clearInterval(timer);
    job.signal.removeEventListener('abort', onPgBossAbort);
  }
}
