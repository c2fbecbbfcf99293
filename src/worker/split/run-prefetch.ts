import type { Kysely } from 'kysely';
import { finishedRunsOf } from '../../db/jobs/analysis-parts.ts';
import type { FinishedRuns, PartStatus, StoredRun } from '../../db/jobs/analysis-parts.ts';
import type { Database } from '../../db/schema.ts';

/**
 * Fetched runs kept in memory at most (beyond it, a part's runs are read at the merge). The
 * P6 bench's parts leave 3.7–4.9 MB of runs each (50k customers); a file with 10× the keys
 * leaves ~10× that, and the worker's peak RSS goal is 384 MiB.
 */
const PREFETCH_BUDGET_BYTES = 64 * 1024 * 1024;

const runBytes = (f: FinishedRuns): number => f.runs.reduce((n, r) => n + r.data.length + r.bounds.length, 0);

/**
 * The runs of parts that finished while others still run, fetched then rather than at the
 * merge: on the P6 quick bench, reading every part's runs back took ~0.2–0.3 s of the
 * merge's 0.4–0.6 s, all on the job's critical path. A part started over after it finished
 * (its pg-boss job delivered again) finishes again later: runs are used only when their
 * finish time is the one the merge's figures were read with.
 */
export class RunPrefetch {
  private readonly fetched = new Map<number, Promise<FinishedRuns | null>>();
  private held = 0;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly attempt: { jobId: string; token: string },
  ) {}

  /** Starts reading the runs of parts newly seen finished (within the budget). */
  note(statuses: readonly PartStatus[]): void {
    for (const s of statuses) {
      if (!s.done || this.fetched.has(s.part) || this.held >= PREFETCH_BUDGET_BYTES) continue;
      const runs = finishedRunsOf(this.db, { ...this.attempt, part: s.part }).then((f) => {
        if (f !== null) this.held += runBytes(f);
        return f;
      });
      runs.catch(() => undefined); // read again at the merge
      this.fetched.set(s.part, runs);
    }
  }

  /** Part `part`'s runs as of its finish at `finishedAt`. */
  async runsOf(part: number, finishedAt: string): Promise<StoredRun[]> {
    const early = await this.fetched.get(part)?.catch(() => null);
    this.fetched.delete(part);
    if (early != null) this.held -= runBytes(early);
    if (early?.finishedAt === finishedAt) return early.runs;
    const now = await finishedRunsOf(this.db, { ...this.attempt, part });
    if (now?.finishedAt !== finishedAt) throw new Error(`part ${part} started over while its runs were read`);
    return now.runs;
  }
}
