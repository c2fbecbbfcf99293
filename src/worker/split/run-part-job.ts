import type { Job } from 'pg-boss';
import { analyzePart } from '../../analysis/split/analyze-part.ts';
import type { PartTask } from '../../analysis/split/analyze-part.ts';
import type { JobOptions } from '../../analysis/options.ts';
import { FileSpillStore } from '../../analysis/spill/file-spill-store.ts';
import { failPart, finishPart, recordPartProgress, startPart } from '../../db/jobs/analysis-parts.ts';
import type { PartKey } from '../../db/jobs/analysis-parts.ts';
import { TallyError, isInputError } from '../../errors.ts';
import { AttemptSuperseded } from '../progress-writer.ts';
import type { WorkerDeps } from '../worker-deps.ts';
import { readAhead } from './read-ahead.ts';

/** What a part's pg-boss job carries: everything the part needs, decided once by the attempt. */
export interface PartJobData {
  jobId: string;
  /** The coordinating attempt's token (the fence). */
  token: string;
  part: number;
  task: PartTask;
  options: JobOptions;
  bytes: number;
  sha256: string;
}

/** Writes a part's progress every `intervalMs`; aborts the part once its attempt is fenced off. */
function partProgress(deps: WorkerDeps, key: PartKey, abort: AbortController) {
  let latest = { bytesProcessed: 0, rowsProcessed: 0 };
  let writing = false;
  const timer = setInterval(() => {
    if (writing) return;
    writing = true;
    recordPartProgress(deps.db.kysely, key, latest)
      .then((ours) => {
        if (!ours)
          abort.abort(new AttemptSuperseded('the job was cancelled or taken over by another attempt'));
      })
      .catch((error: unknown) => deps.log.warn({ err: error }, 'part progress write failed; will retry'))
      .finally(() => (writing = false));
  }, deps.progressIntervalMs ?? 250);
  return {
    update: (bytes: number, rows: number) => (latest = { bytesProcessed: bytes, rowsProcessed: rows }),
    stop: () => clearInterval(timer),
  };
}

/**
 * A part that threw: its input's fault, or its last retry, is recorded for the attempt to
 * fail the job with; anything else is thrown so that pg-boss retries the part.
 */
async function settleFailedPart(
  deps: WorkerDeps,
  job: Job<PartJobData>,
  key: PartKey,
  error: unknown,
): Promise<void> {
  if (isInputError(error) || job.retryCount >= deps.retryLimit) {
    const e = error instanceof TallyError && isInputError(error) ? error : null;
    await failPart(deps.db.kysely, key, {
      code: e?.code ?? 'RETRIES_EXHAUSTED',
      message: e?.message ?? 'a part of the file could not be analysed',
      ...(e?.details === undefined ? {} : { details: e.details }),
    });
    if (e === null) deps.log.error({ err: error, ...key }, 'part failed: retries exhausted');
    return;
  }
  deps.log.warn({ err: error, ...key }, 'part failed; pg-boss will retry');
  throw error;
}

/**
 * One part of a split file, on any worker: reads its byte range, analyses it with the
 * plan's head decisions and stores its exact figures and runs, in one transaction fenced
 * by the attempt's token. Retried by pg-boss after a crash or a transient error: it starts
 * over and replaces what it had, so a retry changes no figure. Its input's fault (a record
 * too long) is recorded for the attempt to fail the job with; a fenced-off part stops quietly.
 */
export async function runPartJob(deps: WorkerDeps, job: Job<PartJobData>): Promise<void> {
  const { jobId, token, part, task, options, bytes, sha256 } = job.data;
  const key: PartKey = { jobId, token, part };
  const log = deps.log.child({ jobId, part, pgBossRetry: job.retryCount });
  if (!(await startPart(deps.db.kysely, key))) {
    log.info('part not run: its attempt no longer owns the job');
    return;
  }
  log.info('part started');
  const abort = new AbortController();
  const onPgBossAbort = () => abort.abort(job.signal.reason);
  job.signal.addEventListener('abort', onPgBossAbort, { once: true });
  const progress = partProgress(deps, key, abort);
  const spill = deps.spill!;
  const store = new FileSpillStore(spill.dir, spill.maxBytes);
  try {
    // A part queued by an earlier Tally (a scanned plan: lines counted from the file's start,
    // a CRC-32 to check, or part 0 without its end) would be read wrongly here. pg-boss
    // retries it, its last retry records the part as failed (settleFailedPart), and the job
    // fails and can be retried whole.
    if (!('range' in task) || 'linesBefore' in task.range || typeof task.encodingProvisional !== 'boolean')
      throw new Error('a part queued by an earlier version of Tally');
    const ref = { jobId, bytes, sha256 };
    const total = task.range.end - task.range.start;
    const source = readAhead(deps.files.readRange(ref, task.range.start, task.range.end), 16);
    const out = await analyzePart(
      deps.hooks?.wrapSource?.(jobId, source, abort.signal) ?? source,
      task,
      options,
      {
        signal: abort.signal,
        onProgress: progress.update,
        maxRecordBytes: deps.maxRecordBytes,
        spill: { store, thresholdKeys: spill.thresholdKeys },
      },
    );
    const runs = out.runs.map((r) => ({
      currency: r.currency,
      table: r.table,
      bounds: Buffer.from(r.bounds.buffer, r.bounds.byteOffset, r.bounds.byteLength),
      data: Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength),
    }));
    const won = await finishPart(deps.db.kysely, key, {
      figures: out.figures,
      bytes: total,
      rows: out.figures.total,
      runs,
    });
    log.info(
      { rows: out.figures.total, runs: runs.length, won },
      won ? 'part finished' : 'part result discarded: fenced off',
    );
  } catch (error) {
    if (abort.signal.reason instanceof AttemptSuperseded || error instanceof AttemptSuperseded) return;
    await settleFailedPart(deps, job, key, error); // throws when pg-boss should retry
  } finally {
    store.close();
    progress.stop();
    job.signal.removeEventListener('abort', onPgBossAbort);
  }
}
