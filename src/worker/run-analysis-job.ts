import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Job } from 'pg-boss';
import { analyzeCsvStream } from '../analysis/analyze-stream.ts';
import { jobErrorRecord } from '../analysis/read/input-error.ts';
import { jobOptionsSchema } from '../analysis/options.ts';
import type { RevenueAnalysis } from '../analysis/result.ts';
import { FileSpillStore } from '../analysis/spill/file-spill-store.ts';
import { endAttempt, finishAttempt, type AttemptEnd } from '../db/jobs/finish-attempt.ts';
import { RETRIES_EXHAUSTED_MESSAGE } from '../db/jobs/give-up-job.ts';
import { startAttempt, type StartedAttempt } from '../db/jobs/start-attempt.ts';
import { isInputError } from '../errors.ts';
import type { VerifiedRead } from '../files/stored-files.ts';
import { verifiedRead } from '../files/verified-read.ts';
import type { Logger } from '../logger.ts';
import { observeAttemptFinished, observeAttemptStarted } from '../observability/metrics.ts';
import type { AnalysisJobData } from '../queue/boss.ts';
import { AttemptSuperseded, startProgressWriter, type Progress } from './progress-writer.ts';
import { analyzeSplit, splitPartsFor } from './split/coordinate-split.ts';
import type { WorkerDeps } from './worker-deps.ts';

export type { WorkerDeps, WorkerHooks } from './worker-deps.ts';

/**
 * Files up to this size come back with the attempt's start (start-attempt.ts): one round
 * trip fewer per small job; 64 KiB of bytea as hex text is ~0.1 ms to decode.
 */
const INLINE_FILE_BYTES = 64 * 1024;

/** How big a stored file may be to come back with its attempt's start. */
export function inlineFileBytes(files: WorkerDeps['files']): number {
  return files.kind === 'postgres' ? INLINE_FILE_BYTES : 0;
}

/** The inline bytes as the one chunk of a stream (what the store's read would give). */
function once(bytes: Buffer): AsyncIterable<Buffer> {
  return Readable.from([bytes], { objectMode: true }) as AsyncIterable<Buffer>;
}

/** One attempt in flight: what its steps share. */
interface Attempt {
  deps: WorkerDeps;
  job: Job<AnalysisJobData>;
  jobId: string;
  token: string;
  started: StartedAttempt;
  log: Logger;
  startedAt: number;
}

/**
 * One attempt at one job: start it under a fresh attempt token, stream its stored file
 * through the analysis, and write the result and final state in one guarded statement.
 * (The life of a job, and who writes each state: src/db/schema.ts.)
 *
 * Outcomes, and what pg-boss is told:
 * - completed, or failed on bad input (retrying cannot help): handler returns → pg-boss completes;
 * - cancelled or fenced off by a newer attempt: stop quietly, write nothing → completes.
 *   That completion cannot touch the newer attempt's entry: pg-boss 12's `work()` settles
 *   with the fetched jobs, `complete(name, jobs)`, which it fences by id AND retry count
 *   (`state = 'active' and id || ':' || retry_count = any(…)`, manager.js `complete` →
 *   plans.js `attemptFence`), and a newer attempt holds the entry at a higher retry count
 *   (fetch bumps it for a claim after a started one). So the handler returns rather than
 *   throwing a marked error: a throw would `fail` our own entry, fenced the same way,
 *   for nothing. test/faults/double-fault.test.ts pins it; the rescuer
 *   (job-lifecycle/rescue-stranded-jobs.ts) is the net should an entry be lost anyway;
 * - transient error (connection lost…): the row goes back to `queued` and the handler
 *   throws, so pg-boss retries; on the last attempt the row fails with RETRIES_EXHAUSTED.
 */
export async function runAnalysisJob(deps: WorkerDeps, job: Job<AnalysisJobData>): Promise<void> {
  const { jobId } = job.data;
  // reqId: the upload request's id, so one grep follows a job from API to worker.
  const log = deps.log.child({ jobId, reqId: job.data.requestId, pgBossRetry: job.retryCount });
  // Started by the claim's statement (start-on-claim.ts), or else here.
  const onClaim = deps.startsOnClaim?.take(job.id);
  const token = onClaim?.token ?? randomUUID();
  const started =
    onClaim === undefined
      ? await startAttempt(deps.db.kysely, jobId, token, inlineFileBytes(deps.files))
      : onClaim?.started;
  if (!started) {
    log.info('job is already final (cancelled or finished by an earlier attempt); nothing to do');
    return;
  }
  log.info({ attempt: started.attempts, bytes: started.bytes }, 'attempt started');
  observeAttemptStarted(jobId, started.attempts);
  const attempt: Attempt = { deps, job, jobId, token, started, log, startedAt: performance.now() };

  const abort = new AbortController();
  const onPgBossAbort = () => abort.abort(job.signal.reason);
  job.signal.addEventListener('abort', onPgBossAbort, { once: true });
  const progress = startProgressWriter({
    db: deps.db,
    log,
    jobId,
    token,
    intervalMs: deps.progressIntervalMs ?? 250,
    abort,
  });
  // One private spill directory per attempt, removed in `finally` on every outcome.
  const spill = deps.spill ? new FileSpillStore(deps.spill.dir, deps.spill.maxBytes) : undefined;
  try {
    const parts = await splitPartsFor(deps, started); // 0 without spilling
    let result =
      spill !== undefined && parts >= 2
        ? await analyzeBigFile(attempt, parts, abort.signal, progress.update, spill)
        : null;
    if (result === null) {
      const ref = { jobId, bytes: started.bytes, sha256: started.sha256 };
      const stored = started.inline === null ? deps.files.read(ref) : verifiedRead(once(started.inline), ref);
      result = await analyzeStoredFile(attempt, stored, abort.signal, progress.update, spill);
      // Never a result from bytes that did not read back whole (verified-read.ts).
      if (!stored.verified) throw new Error('the analysis ended before the stored file did');
    }
    await deps.hooks?.beforeFinish?.(jobId);
    await writeResult(attempt, result);
  } catch (error) {
    if (abort.signal.reason instanceof AttemptSuperseded) {
      observeAttemptFinished('superseded', secondsSince(attempt));
      log.info('attempt stopped: the job was cancelled or taken over by another attempt');
      return;
    }
    await settleFailedAttempt(attempt, error); // throws when pg-boss should retry
  } finally {
    spill?.close();
    progress.stop();
    job.signal.removeEventListener('abort', onPgBossAbort);
  }
}

/**
 * A big plain file, split into parts every worker takes (worker/split/), each checking its
 * bytes (the parts' CRC-32s against the upload's); null: one piece after all.
 */
function analyzeBigFile(
  { deps, jobId, token, started }: Attempt,
  parts: number,
  signal: AbortSignal,
  onProgress: (p: Progress) => void,
  spill: FileSpillStore,
): Promise<RevenueAnalysis | null> {
  const options = jobOptionsSchema.parse(started.options);
  const spillSetup = { store: spill, thresholdKeys: deps.spill!.thresholdKeys };
  return analyzeSplit({ deps, jobId, token, started, parts, options, signal, onProgress, spill: spillSetup });
}

/** Streams the job's stored bytes through the analysis. */
function analyzeStoredFile(
  { deps, jobId, started }: Attempt,
  stored: VerifiedRead,
  signal: AbortSignal,
  onProgress: (p: Progress) => void,
  spill: FileSpillStore | undefined,
): Promise<RevenueAnalysis> {
  const options = jobOptionsSchema.parse(started.options);
  return analyzeCsvStream(
    deps.hooks?.wrapSource?.(jobId, stored, signal) ?? stored,
    { filename: started.filename, bytes: started.bytes, options },
    {
      signal,
      maxRecordBytes: deps.maxRecordBytes,
      maxDecompressedBytes: deps.maxDecompressedBytes,
      ...(deps.maxDecompressionRatio ? { maxDecompressionRatio: deps.maxDecompressionRatio } : {}),
      ...(spill ? { spill: { store: spill, thresholdKeys: deps.spill!.thresholdKeys } } : {}),
      onProgress,
    },
  );
}

/**
 * Writes a final state (completed, failed), and completes the job's pg-boss entry in the
 * same statement when the worker settles entries ahead (queue/settled-ahead.ts): pg-boss's
 * own completion, once the handler returns, is then answered without a round trip.
 */
async function endWith(attempt: Attempt, outcome: AttemptEnd): Promise<boolean> {
  const { deps, job, jobId, token } = attempt;
  const ahead = deps.settleAhead;
  if (ahead === undefined) return finishAttempt(deps.db.kysely, jobId, token, outcome);
  const entry = {
    schema: ahead.schema,
    table: ahead.table,
    queue: job.name,
    id: job.id,
    retryCount: job.retryCount,
  };
  // In a claim's batch, held for the batch's one statement (run-claimed-jobs.ts).
  const { won, entrySettled } =
    deps.endings !== undefined && outcome.state !== 'queued'
      ? await deps.endings.add({ jobId, token, outcome, entry })
      : await endAttempt(deps.db.kysely, jobId, token, outcome, entry);
  if (entrySettled) ahead.entries.add(entry);
  return won;
}

async function writeResult(attempt: Attempt, result: RevenueAnalysis): Promise<void> {
  const { started, log } = attempt;
  const won = await endWith(attempt, {
    state: 'completed',
    result,
    bytesProcessed: started.bytes,
    rowsProcessed: result.rows.total,
  });
  observeAttemptFinished(
    won ? 'completed' : 'superseded',
    secondsSince(attempt),
    won ? result.rows.total : 0,
  );
  if (won)
    log.info(
      { ms: Math.round(performance.now() - attempt.startedAt), rows: result.rows.total },
      'job completed',
    );
  else log.warn('result discarded: the job was cancelled or taken over by a newer attempt');
}

/**
 * An attempt that threw: the input's fault fails the job at once (retrying cannot fix it);
 * anything else is handed back to pg-boss for another attempt (by rethrowing), or, on the
 * last one, fails the job with RETRIES_EXHAUSTED.
 */
async function settleFailedAttempt(attempt: Attempt, error: unknown): Promise<void> {
  const { deps, job, jobId, token, started, log } = attempt;
  if (isInputError(error)) {
    // error_message gets the content-free summary; details.help the whole explanation.
    const { message, details } = jobErrorRecord(error);
    await endWith(attempt, {
      state: 'failed',
      code: error.code,
      message,
      details,
    });
    observeAttemptFinished('failed', secondsSince(attempt));
    log.info({ code: error.code }, 'job failed on its input');
    return;
  }
  if (job.retryCount >= deps.retryLimit) {
    // The owner reads the stored message: it says what happened, never the internal error
    // (a driver's text can name hosts, users or statements). The error is logged here.
    const ended = await endWith(attempt, {
      state: 'failed',
      code: 'RETRIES_EXHAUSTED',
      message: RETRIES_EXHAUSTED_MESSAGE,
    });
    if (!ended) return endSuperseded(attempt, error);
    observeAttemptFinished('failed', secondsSince(attempt));
    log.error({ err: error, attempt: started.attempts }, 'job failed: retries exhausted');
    return;
  }
  const handedBack = await finishAttempt(deps.db.kysely, jobId, token, { state: 'queued' }).catch(
    (e: unknown) => {
      log.warn({ err: e }, 'could not hand the job back; the next attempt will take it over');
      return true; // unknown: pg-boss's retry is the safe way on
    },
  );
  // A newer attempt (or a cancel) took the row while this one failed — typically pg-boss's
  // own claim check aborting a worker whose entry expired: its error is that abort, and a
  // retry would be a second claim on a job already running elsewhere.
  if (!handedBack) return endSuperseded(attempt, error);
  observeAttemptFinished('retry', secondsSince(attempt));
  log.warn({ err: error, attempt: started.attempts }, 'attempt failed; pg-boss will retry');
  throw error;
}

/**
 * The attempt's error came after it lost the job: nothing of it is written, and returning
 * lets pg-boss complete this attempt's own entry (fenced by id and retry count; see above).
 */
function endSuperseded(attempt: Attempt, error: unknown): void {
  observeAttemptFinished('superseded', secondsSince(attempt));
  attempt.log.info({ err: error }, 'attempt stopped: the job was cancelled or taken over by another attempt');
}

function secondsSince(attempt: Attempt): number {
  return (performance.now() - attempt.startedAt) / 1000;
}
