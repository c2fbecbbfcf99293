import { claimChoice, entryJobId } from './claim-choice.ts';
import { smallBatchClaim } from './small-batch-claim.ts';
import {
  ATTEMPT_START_SET,
  crc32Of,
  startedColumns,
  type StartedAttempt,
  type StartedRow,
} from './start-attempt.ts';

/** The column of a claimed row that carries its attempt's start (null: nothing to run). */
const STARTED = '__tallyStarted';
/** The column of a claimed row that says whether more entries were waiting than it took. */
const MORE = '__tallyMore';

/**
 * Whether the queue held more claimable entries than the claim took, in the claim's own
 * snapshot (null when `claim` is not shaped as expected: say "maybe"). A worker fetches
 * again at once after a job only when there were (worker/start-workers.ts): the fetch
 * after a job that finds nothing was one of a small job's three claims (docs/performance.md).
 */
function moreWaitingSql(claim: string): string {
  const next = claimChoice(claim);
  if (next === undefined) return 'null::boolean';
  const { table, where, limit } = next;
  return `(select count(*) from (select 1 from ${table} j where ${where} limit ${limit + 1}) w)
      > (select count(*) from claimed)`;
}

/** A claimed job's attempt, started by the claim's own statement. */
export interface StartedOnClaim {
  token: string;
  started: StartedAttempt;
}

/** What a claimed row carries of ours: its attempt (null: nothing to run), and whether more waited. */
export interface TakenFromClaim {
  started: StartedOnClaim | null;
  /** False only when the claim saw no other claimable entry. */
  moreWaiting: boolean;
}

/**
 * pg-boss's claim of analysis-queue entries (`claim`, one statement ending in RETURNING)
 * with the start of each claimed job's attempt in the same statement: what startAttempt
 * (start-attempt.ts) does, with the token drawn by PostgreSQL. One round trip fewer between
 * a job's claim and its first byte read (11.2 → 10.4 per small job): a network round trip
 * where PostgreSQL is on another host; within T's noise on one host (docs/performance.md,
 * "the claim starts the attempt").
 *
 * Every column pg-boss returns is kept as it was (pg-boss reads them); each row gains
 * STARTED: the attempt as JSON, or null when the job is already final (or its entry names
 * no job). An entry whose jobId is not a uuid matches no job rather than failing the claim.
 * The claim's parameters stay as they are: this adds none. A claim of several entries takes
 * a run of small jobs at most (small-batch-claim.ts): those whose bytes come back here.
 */
export function startAttemptOnClaimSql(claim: string, inlineUpTo: number): string {
  const jobId = entryJobId('claimed');
  return `with claimed as (${smallBatchClaim(claim, inlineUpTo) ?? claim}),
    started as (
      update jobs set ${ATTEMPT_START_SET}, attempt_token = gen_random_uuid()
      from claimed
      where jobs.id = ${jobId} and jobs.state in ('queued', 'running')
      returning claimed.id as claim_id, jobs.attempt_token as token, ${startedColumns(inlineUpTo)}
    )
    select claimed.*, (select to_jsonb(s) - 'claim_id' from started s where s.claim_id = claimed.id) as "${STARTED}",
      ${moreWaitingSql(claim)} as "${MORE}"
    from claimed`;
}

interface StartedJson extends Omit<StartedRow, 'inline'> {
  token: string;
  /** bytea in JSON: '\x' and hex. */
  inline: string | null;
}

/**
 * Takes the attempt's start off a row of startAttemptOnClaimSql, leaving the row as
 * pg-boss's claim returned it: the attempt, or null when there is nothing to run.
 */
export function takeStartedOnClaim(row: Record<string, unknown>): TakenFromClaim {
  const json = row[STARTED] as StartedJson | null | undefined;
  const moreWaiting = row[MORE] !== false;
  delete row[STARTED];
  delete row[MORE];
  if (json === null || json === undefined) return { started: null, moreWaiting };
  const { token, inline, crc32, ...rest } = json;
  return {
    started: {
      token,
      started: {
        ...rest,
        crc32: crc32Of(crc32),
        inline: inline === null ? null : Buffer.from(inline.slice(2), 'hex'),
      },
    },
    moreWaiting,
  };
}
