import { setTimeout as sleep } from 'node:timers/promises';
import { assemble } from '../../analysis/analyze-stream.ts';
import type { JobOptions } from '../../analysis/options.ts';
import type { RevenueAnalysis } from '../../analysis/result.ts';
import type { SpillSetup } from '../../analysis/spill/spill-store.ts';
import type { PartTask, SplitPlan } from '../../analysis/split/analyze-part.ts';
import { mergeFigures } from '../../analysis/split/merge-figures.ts';
import { MergedAggregate } from '../../analysis/split/merged-aggregate.ts';
import type { PartFigures, TableName } from '../../analysis/split/part-figures.ts';
import { planSplit } from '../../analysis/split/plan-split.ts';
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
import type { ErrorCode } from '../../errors.ts';
import { ANALYSIS_PART_QUEUE } from '../../queue/boss.ts';
import type { Progress } from '../progress-writer.ts';
import type { WorkerDeps } from '../worker-deps.ts';
import type { PartJobData } from './run-part-job.ts';
import { partsForFleet } from './fleet-parts.ts';
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

/** Waits until every part finished or failed; sums their progress into the job's meanwhile. */
async function awaitParts(a: SplitAttempt, parts: number, prefetch: RunPrefetch): Promise<void> {
  for (;;) {
    const statuses = await partStatuses(a.deps.db.kysely, a.jobId, a.token);
    prefetch.note(statuses);
    a.onProgress({
      bytesProcessed: statuses.reduce((n, s) => n + s.bytes, 0),
      rowsProcessed: statuses.reduce((n, s) => n + s.rows, 0),
    });
    if (statuses.length === parts && statuses.every((s) => s.done || s.error !== null)) {
      // The first failing part in file order is the error one pass would have met first.
      const failed = statuses.find((s) => s.error !== null);
      if (failed === undefined) return;
      const { code, message, details } = failed.error!;
      if (code === 'RETRIES_EXHAUSTED')
        throw new Error(`part ${failed.part} of the file could not be analysed`);
      throw new TallyError(code as ErrorCode, message, details);
    }
    // Rejects with the abort when the attempt is cancelled or fenced off (the caller checks why).
    await sleep(a.deps.progressIntervalMs ?? 250, undefined, { signal: a.signal });
  }
}

async function mergeStored(
  a: SplitAttempt,
  plan: SplitPlan,
  prefetch: RunPrefetch,
): Promise<RevenueAnalysis | null> {
  const parts = await finishedFiguresOf(a.deps.db.kysely, a.jobId, a.token);
  const merged = mergeFigures(parts.map((p) => p.figures as PartFigures));
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
  const input = { filename: a.started.filename, bytes: a.started.bytes, options: a.options };
  return assemble(view, plan.head, input, a.signal);
}

/** Queues one part the plan's scan has passed the end of: its row first, then its pg-boss job. */
async function queuePart(a: SplitAttempt, task: PartTask): Promise<void> {
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
 * One big plain file analysed by every worker: this attempt plans the split (one pass over
 * the verified read, `stored`), queueing a pg-boss job per part as soon as its scan has
 * passed the part's end (any worker, any host, this one included), sums the parts'
 * progress into the job's, and merges their figures into the result one pass would give
 * once the scan has verified the whole file. Null when the file is read in one piece after
 * all (the plan refused it, or the parts cannot be merged exactly); `stored` is then
 * consumed and the caller reads the file again. The parts' rows are deleted however this
 * ends, which also stops parts still running (their next progress write finds no row) and
 * parts not yet started (they find no row to start).
 */
export async function analyzeSplit(
  a: SplitAttempt,
  stored: AsyncIterable<Buffer>,
): Promise<RevenueAnalysis | null> {
  const { deps, jobId, token, started } = a;
  const split = deps.split!;
  try {
    await createParts(deps.db.kysely, jobId, token, 0); // an earlier attempt's rows go
    const planStarted = performance.now();
    split.scanGate?.begin();
    const outcome = await planSplit(
      stored,
      started.bytes,
      a.parts,
      a.options,
      (task) => queuePart(a, task),
      a.signal,
    ).finally(() => split.scanGate?.end());
    const planMs = Math.round(performance.now() - planStarted);
    if ('refused' in outcome) {
      deps.log.info({ jobId, why: outcome.refused }, 'big file not split; analysing in one piece');
      return null;
    }
    const { plan } = outcome;
    deps.log.info(
      { jobId, parts: plan.parts.length, planMs, maxRssMiB: maxRssMiB() },
      'big file split into parts',
    );
    const waitStarted = performance.now();
    const prefetch = new RunPrefetch(deps.db.kysely, { jobId, token });
    await awaitParts(a, plan.parts.length, prefetch);
    const waitMs = Math.round(performance.now() - waitStarted);
    const waitMaxRssMiB = maxRssMiB(); // this process's part, if it took one, has run
    const waitMemMiB = memoryMiB(); // P6m: what of that is V8's heap, what Buffers, what neither
    const mergeStarted = performance.now();
    const result = await mergeStored(a, plan, prefetch);
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
    await deleteParts(deps.db.kysely, jobId, token).catch((error: unknown) =>
      deps.log.warn(
        { err: error, jobId },
        'could not delete the split parts; the next attempt or retention will',
      ),
    );
  }
}
