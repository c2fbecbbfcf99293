import { setTimeout as sleep } from 'node:timers/promises';
import type { JobOptions } from '../../analysis/options.ts';
import type { RevenueAnalysis } from '../../analysis/result.ts';
import type { SpillSetup } from '../../analysis/spill/spill-store.ts';
import { analyzePart, partTask } from '../../analysis/split/analyze-part.ts';
import type { PartOutput, PartTask, SplitPlan } from '../../analysis/split/analyze-part.ts';
import { mergeCheckedFigures, resultOfParts } from '../../analysis/split/merge-parts.ts';
import type { PartRun } from '../../analysis/split/merged-aggregate.ts';
import type { PartFigures, TableName } from '../../analysis/split/part-figures.ts';
import { CUT_WINDOW_BYTES, planSplit } from '../../analysis/split/plan-split.ts';
import { MAX_SPLIT_PARTS } from '../../config/jobs-env.ts';
import {
  addParts,
  createParts,
  deleteParts,
  finishedFiguresOf,
  partStatuses,
} from '../../db/jobs/analysis-parts.ts';
import type { StartedAttempt } from '../../db/jobs/start-attempt.ts';
import { TallyError } from '../../errors.ts';
import { ANALYSIS_PART_QUEUE } from '../../queue/boss.ts';
import type { Progress } from '../progress-writer.ts';
import type { WorkerDeps } from '../worker-deps.ts';
import type { PartJobData } from './run-part-job.ts';
import { partsForFleet } from './fleet-parts.ts';
import { readAhead } from './read-ahead.ts';
import { RunPrefetch } from './run-prefetch.ts';
import { TAIL_POLL_MS, partsNearEnd } from './tail-poll.ts';

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
 * small, gzip, spilling off, or stored before uploads recorded a CRC-32, which the parts'
 * check needs), else PARALLEL_ANALYSIS_PARTS, `auto` counted now from the live worker
 * processes (fleet-parts.ts). Fewer than 2: read in one piece.
 */
export async function splitPartsFor(deps: WorkerDeps, started: StartedAttempt): Promise<number> {
  const split = deps.split;
  if (
    split === undefined ||
    deps.spill === undefined ||
    started.compression !== 'none' ||
    started.crc32 === null ||
    started.bytes < split.minBytes
  )
    return 0;
  if (split.parts !== 'auto') return split.parts;
  if (split.liveMachines === undefined) return 0;
  return partsForFleet(await split.liveMachines(), MAX_SPLIT_PARTS);
}

/** Bytes and rows the attempt's own part (part 0) has read so far, and whether it has ended. */
interface OwnProgress {
  bytes: number;
  rows: number;
  ended: boolean;
}

/**
 * Waits until every queued part finished or failed; sums their progress, and the attempt's
 * own part's, into the job's meanwhile. `stop` ends the wait (rejecting with its reason).
 * 'one piece': a queued part (all come after part 0) failed on its input, and its error
 * names lines counted from its own start; one pass meets that error (or an earlier one)
 * with the file's line numbers.
 */
async function awaitParts(
  a: SplitAttempt,
  plan: SplitPlan,
  prefetch: RunPrefetch,
  own: OwnProgress,
  stop: AbortSignal,
): Promise<'done' | 'one piece'> {
  for (;;) {
    const statuses = await partStatuses(a.deps.db.kysely, a.jobId, a.token);
    prefetch.note(statuses);
    a.onProgress({
      bytesProcessed: statuses.reduce((n, s) => n + s.bytes, own.bytes),
      rowsProcessed: statuses.reduce((n, s) => n + s.rows, own.rows),
    });
    if (statuses.length === plan.parts.length - 1 && statuses.every((s) => s.done || s.error !== null)) {
      const failed = statuses.find((s) => s.error !== null);
      if (failed === undefined) return 'done';
      const { code, message, details } = failed.error!;
      if (code === 'RETRIES_EXHAUSTED')
        throw new Error(`part ${failed.part} of the file could not be analysed`);
      if (code === 'FILE_CORRUPT') throw new TallyError(code, message, details);
      return 'one piece';
    }
    // Rejects with the abort when the attempt is cancelled or fenced off (the caller checks why).
    const interval = a.deps.progressIntervalMs ?? 250;
    const tail = partsNearEnd(plan, own, statuses);
    await sleep(tail ? Math.min(interval, TAIL_POLL_MS) : interval, undefined, { signal: stop });
  }
}

/** The attempt's own part's output, or what it threw. */
type OwnPart = { out: PartOutput } | { error: unknown };

/**
 * Analyses part 0 here, from its own range read, as any part is read (run-part-job.ts). Part
 * 0 is the attempt's, not a queued one: it reads the head and decides the format as one pass
 * does, and it can start the moment the plan is made, with no queue between. (It was also
 * chosen because a later part parsed 10–40 % slower in the process that had made the plan.
 * The cause was csv-parse's per-parser copies of its methods, which slowed its parse loop
 * for every parser after the first in a process; createCsvPushApi now shares one set, and
 * a part after another analysis parses as fast as in a fresh process: read/csv-records.ts.)
 */
async function runOwnPart(a: SplitAttempt, task: PartTask, progress: OwnProgress): Promise<OwnPart> {
  const { deps, jobId, started } = a;
  deps.log.info({ jobId, part: task.index }, 'first part started in the attempt');
  try {
    const ref = { jobId, bytes: started.bytes, sha256: started.sha256 };
    const read = readAhead(deps.files.readRange(ref, task.range.start, task.range.end), 16);
    const out = await analyzePart(deps.hooks?.wrapSource?.(jobId, read, a.signal) ?? read, task, a.options, {
      signal: a.signal,
      onProgress: (bytes, rows) => {
        progress.bytes = bytes;
        progress.rows = rows;
      },
      maxRecordBytes: deps.maxRecordBytes,
      spill: a.spill,
    });
    deps.log.info({ jobId, part: task.index, rows: out.figures.total }, 'first part finished');
    return { out };
  } catch (error) {
    return { error };
  }
}

/**
 * The attempt's own part's outcome with the queued parts': its output, what one pass would
 * have thrown first (part 0's error: its lines are the file's), or 'one piece' (a queued part
 * failed on its input: see awaitParts). A fault that is not the input's stops at once.
 */
async function settleParts(
  own: OwnPart,
  others: Promise<'done' | 'one piece'>,
  stopWaiting: AbortController,
): Promise<PartOutput | 'one piece'> {
  if ('error' in own) {
    stopWaiting.abort(own.error); // part 0's error is the first one pass would meet
    throw own.error;
  }
  return (await others) === 'one piece' ? 'one piece' : own.out;
}

/** The runs of every part in part order: the attempt's own (part 0), then the queued parts' as of the finish their figures come from. */
async function runsOf(
  queued: { part: number; finishedAt: string | null }[],
  prefetch: RunPrefetch,
  own: PartOutput,
): Promise<PartRun[]> {
  const runs: PartRun[] = [...own.runs];
  for (const { part, finishedAt } of queued) {
    for (const run of await prefetch.runsOf(part, finishedAt!)) {
      const bounds = new Int32Array(
        run.bounds.buffer.slice(run.bounds.byteOffset, run.bounds.byteOffset + run.bounds.byteLength),
      );
      runs.push({ part, currency: run.currency, table: run.table as TableName, bytes: run.data, bounds });
    }
  }
  return runs;
}

/**
 * The result from every part's figures and runs: the parts' CRC-32s checked together against
 * the upload's first (FILE_CORRUPT), then merged; null when they cannot be merged exactly.
 */
async function mergeStored(
  a: SplitAttempt,
  plan: SplitPlan,
  prefetch: RunPrefetch,
  own: PartOutput,
): Promise<RevenueAnalysis | null> {
  const queued = await finishedFiguresOf(a.deps.db.kysely, a.jobId, a.token);
  const figures = [own.figures, ...queued.map((p) => p.figures as PartFigures)];
  const merged = mergeCheckedFigures(plan, figures, a.started.crc32!);
  if (typeof merged === 'string') {
    a.deps.log.info(
      { jobId: a.jobId, why: merged },
      'split parts cannot be merged exactly; analysing in one piece',
    );
    return null;
  }
  const input = { filename: a.started.filename, bytes: a.started.bytes, options: a.options };
  return resultOfParts(plan, merged, await runsOf(queued, prefetch, own), input, a.spill, a.signal);
}

/** Queues one part: its row first, then its pg-boss job. */
async function queuePart(a: SplitAttempt, task: PartTask): Promise<void> {
  a.signal.throwIfAborted(); // cancelled or fenced off while planning: queue nothing more
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
 * One big plain file analysed by every worker: this attempt plans the split (the head's
 * decisions, and a record start near each share of the file: plan-split.ts, which reads the
 * head and ~1 MiB a cut, never the file through), queues a pg-boss job per part after the
 * first, for any worker on any host, and analyses part 0 itself at the same time. Meanwhile
 * it sums the parts' progress into the job's, and it merges their figures into the result
 * one pass would give, once their CRC-32s add up to the upload's. Null when the file is read
 * in one piece after all (the plan refused it, the parts cannot be merged exactly, or a
 * queued part failed on its input). The parts' rows are deleted however this ends, which also
 * stops parts still running (their next progress write finds no row) and parts not yet
 * started (they find no row to start).
 */
export async function analyzeSplit(a: SplitAttempt): Promise<RevenueAnalysis | null> {
  const { deps, jobId, token, started } = a;
  const split = deps.split!;
  // This process takes no other part while it runs its own (own-part-gate.ts).
  split.ownPartGate?.begin();
  let gateOpen = false;
  const openGate = () => {
    if (!gateOpen) split.ownPartGate?.end();
    gateOpen = true;
  };
  try {
    await createParts(deps.db.kysely, jobId, token, 0); // an earlier attempt's rows go
    const planStarted = performance.now();
    const ref = { jobId, bytes: started.bytes, sha256: started.sha256 };
    const planned = await planSplit(
      (start, end) => deps.files.readRange(ref, start, end),
      started.bytes,
      a.parts,
      a.options,
      { signal: a.signal, windowBytes: Math.max(CUT_WINDOW_BYTES, deps.maxRecordBytes) },
    );
    if ('refused' in planned) {
      deps.log.info({ jobId, why: planned.refused }, 'big file not split; analysing in one piece');
      return null;
    }
    const { plan } = planned;
    const queued = plan.parts.length - 1;
    for (let k = 1; k <= queued; k++) await queuePart(a, partTask(plan, k));
    const planMs = Math.round(performance.now() - planStarted);
    deps.log.info({ jobId, parts: queued + 1, planMs, maxRssMiB: maxRssMiB() }, 'big file split into parts');
    const waitStarted = performance.now();
    const ownProgress: OwnProgress = { bytes: 0, rows: 0, ended: false };
    const ownPart = runOwnPart(a, partTask(plan, 0), ownProgress).finally(() => {
      ownProgress.ended = true;
      openGate();
    });
    const prefetch = new RunPrefetch(deps.db.kysely, { jobId, token });
    const stopWaiting = new AbortController();
    const others = awaitParts(
      a,
      plan,
      prefetch,
      ownProgress,
      AbortSignal.any([a.signal, stopWaiting.signal]),
    );
    others.catch(() => undefined); // settled below, or abandoned once part 0 failed
    const own = await settleParts(await ownPart, others, stopWaiting);
    if (own === 'one piece') {
      deps.log.info(
        { jobId, why: 'a part after the first failed on its input' },
        'big file not split; analysing in one piece',
      );
      return null;
    }
    const waitMs = Math.round(performance.now() - waitStarted);
    const waitMaxRssMiB = maxRssMiB(); // this process's part has run
    const waitMemMiB = memoryMiB(); // P6m: what of that is V8's heap, what Buffers, what neither
    const mergeStarted = performance.now();
    const result = await mergeStored(a, plan, prefetch, own);
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
