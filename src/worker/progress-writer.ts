import type { Db } from '../db/database.ts';
import { attemptIsCurrent, recordProgress } from '../db/jobs/record-progress.ts';
import type { Logger } from '../logger.ts';

export interface Progress {
  bytesProcessed: number;
  rowsProcessed: number;
}

/** Why an attempt stopped early without an error of its own. */
export class AttemptSuperseded extends Error {
  override readonly name = 'AttemptSuperseded';
}

/**
 * Writes an attempt's progress at most every `intervalMs`: one UPDATE per job a few times a
 * second, however many rows fly by (a write per row would be latency-bound at ~0.1 ms per
 * round trip). The same write tells whether the attempt still owns the job: a cancel or a
 * newer attempt clears its token, and then `abort` fires with `AttemptSuperseded`.
 */
export function startProgressWriter(opts: {
  db: Db;
  log: Logger;
  jobId: string;
  token: string;
  intervalMs: number;
  abort: AbortController;
}): { update: (progress: Progress) => void; stop: () => void } {
  let latest: Progress = { bytesProcessed: 0, rowsProcessed: 0 };
  let written = latest;
  let writing = false;
  const timer = setInterval(() => {
    if (writing) return;
    writing = true;
    const current = latest;
    const write =
      current === written
        ? attemptIsCurrent(opts.db.kysely, opts.jobId, opts.token)
        : recordProgress(opts.db.kysely, opts.jobId, opts.token, current);
    write
      .then((stillOurs) => {
        written = current;
        if (!stillOurs)
          opts.abort.abort(new AttemptSuperseded('the job was cancelled or taken over by another attempt'));
      })
      .catch((error: unknown) => opts.log.warn({ err: error }, 'progress write failed; will retry'))
      .finally(() => (writing = false));
  }, opts.intervalMs);
  return {
    update: (progress) => {
      latest = progress;
    },
    stop: () => clearInterval(timer),
  };
}
