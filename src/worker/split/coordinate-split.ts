import type { PgBoss } from 'pg-boss';
import { setTimeout as sleep } from 'node:timers/promises';
import { assemble } from '../../analysis/analyze-stream.ts';
import type { JobOptions } from '../../analysis/options.ts';
import type { RevenueAnalysis } from '../../analysis/result.ts';
import type { SpillSetup } from '../../analysis/spill/spill-store.ts';
import type { SplitPlan } from '../../analysis/split/analyze-part.ts';
import { mergeFigures } from '../../analysis/split/merge-figures.ts';
import { MergedAggregate } from '../../analysis/split/merged-aggregate.ts';
import type { PartFigures, TableName } from '../../analysis/split/part-figures.ts';
import { planSplit } from '../../analysis/split/plan-split.ts';
import {
  createParts,
  deleteParts,
  partFiguresOf,
  partRunsOf,
  partStatuses,
} from '../../db/jobs/analysis-parts.ts';
import type { StartedAttempt } from '../../db/jobs/start-attempt.ts';
import { TallyError } from '../../errors.ts';
import type { ErrorCode } from '../../errors.ts';
import { ANALYSIS_PART_QUEUE } from '../../queue/boss.ts';
import type { Progress } from '../progress-writer.ts';
import type { WorkerDeps } from '../run-analysis-job.ts';
import type { PartJobData } from './run-part-job.ts';

/** PARALLEL_ANALYSIS_*: when and how a big plain file is analysed by every worker at once. */
export interface SplitSettings {
  boss: PgBoss;
  /** Plain files of at least this many stored bytes are split. */
  minBytes: number;
  parts: number;
}

export interface SplitAttempt {
  deps: WorkerDeps;
  jobId: string;
  token: string;
  started: StartedAttempt;
  options: JobOptions;
  signal: AbortSignal;
  onProgress: (p: Progress) => void;
  spill: SpillSetup;
}

/** Is this attempt's file one to split? */
export function splitEligible(deps: WorkerDeps, started: StartedAttempt): boolean {
  const split = deps.split;
  return (
    split !== undefined &&
    deps.spill !== undefined &&
    split.parts > 1 &&
    started.compression === 'none' &&
    started.bytes >= split.minBytes
  );
}

/** Waits until every part finished or failed; sums their progress into the job's meanwhile. */
async function awaitParts(a: SplitAttempt, parts: number): Promise<void> {
  for (;;) {
    const statuses = await partStatuses(a.deps.db.kysely, a.jobId, a.token);
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

async function mergeStored(a: SplitAttempt, plan: SplitPlan): Promise<RevenueAnalysis | null> {
  const figures = (await partFiguresOf(a.deps.db.kysely, a.jobId, a.token)) as PartFigures[];
  const merged = mergeFigures(figures);
  if (typeof merged === 'string') {
    a.deps.log.info(
      { jobId: a.jobId, why: merged },
      'split parts cannot be merged exactly; analysing in one piece',
    );
    return null;
  }
  const view = new MergedAggregate(merged, plan.decision, a.spill);
  for (let part = 0; part < plan.parts.length; part++) {
    for (const run of await partRunsOf(a.deps.db.kysely, { jobId: a.jobId, token: a.token, part })) {
      const bounds = new Int32Array(
        run.bounds.buffer.slice(run.bounds.byteOffset, run.bounds.byteOffset + run.bounds.byteLength),
      );
      view.adoptRun({ part, currency: run.currency, table: run.table as TableName, bytes: run.data, bounds });
    }
  }
  const input = { filename: a.started.filename, bytes: a.started.bytes, options: a.options };
  return assemble(view, plan.head, input, a.signal);
}

/**
 * One big plain file analysed by every worker: this attempt plans the split (one pass over
 * the verified read, `stored`), queues a pg-boss job per part (any worker, any host, this
 * one included), sums the parts' progress into the job's, and merges their figures into
 * the result one pass would give. Null when the file is read in one piece after all (the
 * plan refused it, or the parts cannot be merged exactly); `stored` is then consumed and
 * the caller reads the file again. The parts' rows are deleted however this ends, which
 * also stops parts still running (their next progress write finds no row).
 */
export async function analyzeSplit(
  a: SplitAttempt,
  stored: AsyncIterable<Buffer>,
): Promise<RevenueAnalysis | null> {
  const { deps, jobId, token, started } = a;
  const split = deps.split!;
  const planStarted = performance.now();
  const outcome = await planSplit(stored, started.bytes, split.parts, a.options);
  const planMs = Math.round(performance.now() - planStarted);
  if ('refused' in outcome) {
    deps.log.info({ jobId, why: outcome.refused }, 'big file not split; analysing in one piece');
    return null;
  }
  const { plan } = outcome;
  a.signal.throwIfAborted();
  try {
    await createParts(deps.db.kysely, jobId, token, plan.parts.length);
    for (let part = 0; part < plan.parts.length; part++) {
      const data: PartJobData = {
        jobId,
        token,
        part,
        plan,
        options: a.options,
        bytes: started.bytes,
        sha256: started.sha256,
      };
      await split.boss.send(ANALYSIS_PART_QUEUE, data);
    }
    deps.log.info({ jobId, parts: plan.parts.length, planMs }, 'big file split into parts');
    await awaitParts(a, plan.parts.length);
    const mergeStarted = performance.now();
    const result = await mergeStored(a, plan);
    deps.log.info({ jobId, mergeMs: Math.round(performance.now() - mergeStarted) }, 'split parts merged');
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
