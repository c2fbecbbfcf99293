import { setTimeout as sleep } from 'node:timers/promises';
import { assemble } from '../../analysis/analyze-stream.ts';
import type { JobOptions } from '../../analysis/options.ts';
import type { RevenueAnalysis } from '../../analysis/result.ts';
import type { SpillSetup } from '../../analysis/spill/spill-store.ts';
import { analyzePart } from '../../analysis/split/analyze-part.ts';
import type { AnyPartTask, PartOutput, PartTask, SplitPlan } from '../../analysis/split/analyze-part.ts';
import { mergeFigures } from '../../analysis/split/merge-figures.ts';
import { MergedAggregate } from '../../analysis/split/merged-aggregate.ts';
import type { PartFigures, TableName } from '../../analysis/split/part-figures.ts';
import { scanToLastCut } from '../../analysis/split/plan-split.ts';
import type { ScannedToLastCut } from '../../analysis/split/plan-split.ts';
import { MAX_SPLIT_PARTS } from '../../config/jobs-env.ts';
import {
  addParts,
  createParts,
  deleteParts,
  finishedFiguresOf,
  partStatuses,
  setPartRange,
} from '../../db/jobs/analysis-parts.ts';
import type { StartedAttempt } from '../../db/jobs/start-attempt.ts';
import { TallyError, isInputError } from '../../errors.ts';
import type { ErrorCode } from '../../errors.ts';
import { ANALYSIS_PART_QUEUE } from '../../queue/boss.ts';
import type { Progress } from '../progress-writer.ts';
import type { WorkerDeps } from '../worker-deps.ts';
import type { PartJobData } from './run-part-job.ts';
import { partsForFleet } from './fleet-parts.ts';
import { FirstPartWatch } from './first-part-watch.ts';
import { readAhead } from './read-ahead.ts';
import { RunPrefetch } from './run-prefetch.ts';

export interface SplitAttempt {
  deps: WorkerDeps;
  /** How many parts to plan (splitPartsFor), at least 2. */
  parts: number;
  jobId: string;
  token: string;
  started: StartedAttempt;
  options: JobOptions;
  signal: AbortSignal;
  onProgress: (p: Progress) => void;
  spill: SpillSetup;
}

/** The process's peak RSS so far: logged after the plan and the merge, to tell which one peaks (P6m). */
const maxRssMiB = (): number => Math.round(process.resourceUsage().maxRSS / 1024);

function memoryMiB(): Record<string, number> {
  const m = process.memoryUsage();
  const mib = (n: number) => Math.round(n / 2 ** 20);
  return {
    rss: mib(m.rss),
    heapTotal: mib(m.heapTotal),
    heapUsed: mib(m.heapUsed),
    external: mib(m.external),
  };
}

/**
 * How many parts this attempt's file is split into: 0 when it is not one to split (too
 * small, gzip, spilling off), else PARALLEL_ANALYSIS_PARTS, `auto` counted now from the live
 * worker processes (fleet-parts.ts). Fewer than 2: read in one piece.
 */
export async function splitPartsFor(deps: WorkerDeps, started: StartedAttempt): Promise<number> {
  const split = deps.split;
  if (
    split === undefined ||
    deps.spill === undefined ||
    started.compression !== 'none' ||
    started.bytes < split.minBytes
  )
    return 0;
  if (split.parts !== 'auto') return split.parts;
  if (split.liveMachines === undefined) return 0;
  return partsForFleet(await split.liveMachines(), MAX_SPLIT_PARTS);
}

/** Bytes and rows the last part (run by the attempt itself) has read so far. */
interface LastProgress {
  bytes: number;
  rows: number;
}

/**
 * Waits until every queued part finished or failed; sums their progress, and the last
 * part's, into the job's meanwhile. `stop` ends the wait (rejecting with its reason).
 */
async function awaitParts(
  a: SplitAttempt,
  queued: number,
  prefetch: RunPrefetch,
  last: LastProgress,
  stop: AbortSignal,
): Promise<void> {
  for (;;) {
    const statuses = await partStatuses(a.deps.db.kysely, a.jobId, a.token);
    prefetch.note(statuses);
    a.onProgress({
      bytesProcessed: statuses.reduce((n, s) => n + s.bytes, last.bytes),
      rowsProcessed: statuses.reduce((n, s) => n + s.rows, last.rows),
    });
    if (statuses.length === queued && statuses.every((s) => s.done || s.error !== null)) {
      // The first failing part in file order is the error one pass would have met first.
      const failed = statuses.find((s) => s.error !== null);
      if (failed === undefined) return;
      const { code, message, details } = failed.error!;
      if (code === 'RETRIES_EXHAUSTED')
        throw new Error(`part ${failed.part} of the file could not be analysed`);
      throw new TallyError(code as ErrorCode, message, details);
    }
    // Rejects with the abort when the attempt is cancelled or fenced off (the caller checks why).
    await sleep(a.deps.progressIntervalMs ?? 250, undefined, { signal: stop });
  }
}

/** The last part's output, or what it threw. */
type LastPart = { out: PartOutput } | { error: unknown };

/** Analyses the last part here, from the rest of the scan's own read (the file verified at its end). */
async function runLastPart(
  a: SplitAttempt,
  scanned: ScannedToLastCut,
  progress: LastProgress,
): Promise<LastPart> {
  const part = scanned.last.index;
  a.deps.log.info({ jobId: a.jobId, part }, 'last part started in the attempt');
  try {
    const out = await analyzePart(scanned.tail, scanned.last, a.options, {
      signal: a.signal,
      onProgress: (bytes, rows) => {
        progress.bytes = bytes;
        progress.rows = rows;
      },
      maxRecordBytes: a.deps.maxRecordBytes,
      spill: a.spill,
    });
    a.deps.log.info({ jobId: a.jobId, part, rows: out.figures.total }, 'last part finished');
    return { out };
  } catch (error) {
    return { error };
  }
}

/**
 * The last part's outcome with the queued parts': what one pass would have thrown first,
 * or nothing. A FILE_CORRUPT at its end (the whole file's check) stops at once: no figure
 * of a file that is not the upload means anything.
 */
async function settleParts(
  last: LastPart,
  others: Promise<void>,
  stopWaiting: AbortController,
): Promise<PartOutput> {
  if ('out' in last) {
    await others;
    return last.out;
  }
  const { error } = last;
  if (!isInputError(error) || error.code === 'FILE_CORRUPT') {
    stopWaiting.abort(error);
    throw error;
  }
  await others; // an earlier part's failure is met first by one pass
  throw error;
}

async function mergeStored(
  a: SplitAttempt,
  plan: SplitPlan,
  prefetch: RunPrefetch,
  last: PartOutput,
): Promise<RevenueAnalysis | null> {
  const parts = await finishedFiguresOf(a.deps.db.kysely, a.jobId, a.token);
  const merged = mergeFigures([...parts.map((p) => p.figures as PartFigures), last.figures]);
  if (typeof merged === 'string') {
    a.deps.log.info(
      { jobId: a.jobId, why: merged },
      'split parts cannot be merged exactly; analysing in one piece',
    );
    return null;
  }
  const view = new MergedAggregate(merged, plan.decision, a.spill);
  for (const [part, { finishedAt }] of parts.entries()) {
    for (const run of await prefetch.runsOf(part, finishedAt!)) {
      const bounds = new Int32Array(
        run.bounds.buffer.slice(run.bounds.byteOffset, run.bounds.byteOffset + run.bounds.byteLength),
      );
      view.adoptRun({ part, currency: run.currency, table: run.table as TableName, bytes: run.data, bounds });
    }
  }
  for (const run of last.runs) view.adoptRun(run);
  const input = { filename: a.started.filename, bytes: a.started.bytes, options: a.options };
  return assemble(view, plan.head, input, a.signal);
}

/** Queues one part (the scan has passed its end, or it is part 0 starting at once): its row first, then its pg-boss job. */
async function queuePart(a: SplitAttempt, task: AnyPartTask): Promise<void> {
  a.signal.throwIfAborted(); // cancelled or fenced off during the scan: queue nothing more
  const { deps, jobId, token, started } = a;
  await addParts(deps.db.kysely, jobId, token, task.index);
  const data: PartJobData = {
    jobId,
    token,
    part: task.index,
    task,
    options: a.options,
    bytes: started.bytes,
    sha256: started.sha256,
  };
  await deps.split!.boss.send(ANALYSIS_PART_QUEUE, data);
}

/**
 * One big plain file analysed by every worker: this attempt scans the file for where its
 * parts start (one pass over the verified read, `stored`), queueing a pg-boss job per part
 * for any worker on any host: part 0 once the head is read (its end and CRC-32 written to
 * its row when the scan passes them), each later part once the scan has passed its end. At
 * the last cut it analyses the last part itself from the rest of that same read, so the
 * file's tail is read once and verified at the last part's end. Meanwhile it sums the
 * parts' progress into the job's, and it merges their figures into the result one pass
 * would give. Null when the file is read in one piece after all (the scan refused it, or
 * the parts cannot be merged exactly); `stored` is then consumed and the caller reads the
 * file again. The parts' rows are deleted however this ends, which also stops parts still
 * running (their next progress write finds no row) and parts not yet started (they find
 * no row to start).
 */
export async function analyzeSplit(
  a: SplitAttempt,
  stored: AsyncIterable<Buffer>,
): Promise<RevenueAnalysis | null> {
  const { deps, jobId, token, started } = a;
  const split = deps.split!;
  // This process takes no other part while it scans and runs the last part (scan-gate.ts).
  split.scanGate?.begin();
  let gateOpen = false;
  const openGate = () => {
    if (!gateOpen) split.scanGate?.end();
    gateOpen = true;
  };
  try {
    await createParts(deps.db.kysely, jobId, token, 0); // an earlier attempt's rows go
    const planStarted = performance.now();
    // Part 0 starts at once, its end sent to it when the scan passes it (first-part-range.ts).
    let firstEarly = false;
    const partReady = (task: PartTask): Promise<void> =>
      task.index === 0 && firstEarly
        ? setPartRange(
            deps.db.kysely,
            { jobId, token, part: 0 },
            { end: task.range.end, crc32: task.range.crc32! },
          )
        : queuePart(a, task);
    // With two parts the scan cuts them on part 0's progress (balancedFirstCut).
    const firstWatch = new FirstPartWatch(
      async () => (await partStatuses(deps.db.kysely, jobId, token)).find((s) => s.part === 0)?.bytes ?? null,
      deps.progressIntervalMs ?? 250,
      deps.log,
    );
    const scanned = await scanToLastCut(
      // Read ahead as a part's read is (run-part-job.ts): the scan, then the last part, parse
      // one piece while the next is on its way.
      readAhead(stored, 16),
      started.bytes,
      a.parts,
      a.options,
      partReady,
      {
        signal: a.signal,
        onFirst: async (task) => {
          firstEarly = true;
          await queuePart(a, task);
          firstWatch.start();
        },
        firstPartRead: () => firstWatch.read,
      },
    ).finally(() => firstWatch.stop());
    const planMs = Math.round(performance.now() - planStarted);
    if ('refused' in scanned) {
      deps.log.info({ jobId, why: scanned.refused }, 'big file not split; analysing in one piece');
      return null;
    }
    const queued = scanned.last.index;
    deps.log.info({ jobId, parts: queued + 1, planMs, maxRssMiB: maxRssMiB() }, 'big file split into parts');
    const waitStarted = performance.now();
    const lastProgress: LastProgress = { bytes: 0, rows: 0 };
    const lastPart = runLastPart(a, scanned, lastProgress).finally(openGate);
    const prefetch = new RunPrefetch(deps.db.kysely, { jobId, token });
    const stopWaiting = new AbortController();
    const others = awaitParts(
      a,
      queued,
      prefetch,
      lastProgress,
      AbortSignal.any([a.signal, stopWaiting.signal]),
    );
    others.catch(() => undefined); // settled below, or abandoned once the last part failed
    const settled = await lastPart;
    // The tail stopped short where the scan refused the file (a CR it cannot number lines
    // past): whatever the last part made of it is thrown away.
    const refusedInTail = 'error' in settled ? scanned.refusal() : null;
    if (refusedInTail !== null) {
      stopWaiting.abort();
      deps.log.info({ jobId, why: refusedInTail }, 'big file not split; analysing in one piece');
      return null;
    }
    const last = await settleParts(settled, others, stopWaiting);
    const outcome = scanned.plan();
    if ('refused' in outcome) {
      deps.log.info({ jobId, why: outcome.refused }, 'big file not split; analysing in one piece');
      return null;
    }
    const waitMs = Math.round(performance.now() - waitStarted);
    const waitMaxRssMiB = maxRssMiB(); // this process's part has run
    const waitMemMiB = memoryMiB(); // P6m: what of that is V8's heap, what Buffers, what neither
    const mergeStarted = performance.now();
    const result = await mergeStored(a, outcome.plan, prefetch, last);
    deps.log.info(
      {
        jobId,
        waitMs,
        mergeMs: Math.round(performance.now() - mergeStarted),
        waitMaxRssMiB,
        waitMemMiB,
        maxRssMiB: maxRssMiB(),
      },
      'split parts merged',
    );
    return result;
  } finally {
    openGate();
    await deleteParts(deps.db.kysely, jobId, token).catch((error: unknown) =>
      deps.log.warn(
        { err: error, jobId },
        'could not delete the split parts; the next attempt or retention will',
      ),
    );
  }
}
