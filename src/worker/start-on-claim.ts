import type { QueryResult } from 'pg';
import * as plans from 'pg-boss/dist/plans.js';
import { smallBatchClaim } from '../db/jobs/small-batch-claim.ts';
import {
  startAttemptOnClaimSql,
  takeStartedOnClaim,
  type StartedOnClaim,
  type TakenFromClaim,
} from '../db/jobs/start-attempt-on-claim.ts';
import type { BossStatement, ClaimExtension, RunStatement } from '../queue/claim-extension.ts';

/** A claim of this process in flight: the NOTIFYs seen when it was sent, and whether it left more. */
interface ClaimInFlight {
  notifications: number;
  /** False when the claim took every claimable entry of its snapshot (none included). */
  leftMore: Promise<boolean>;
}

/**
 * Entries one claim may take: a run of small jobs (db/jobs/small-batch-claim.ts), each with
 * its bytes. P5 (2,000 uploads of 1 KB, one worker process of two slots), jobs/s against
 * pg-boss's no-op floor in the same run: 1 → 375 (0.55×), 4 → 523 (0.79×), 8 → 558 (0.85×),
 * 16 → 513 (0.78×), 32 → 534 (0.86×). A batch holds its slot for eight small analyses: at
 * worst eight files of 64 KiB, ~16,000 rows, ~65 ms at P2's ~250,000 rows/s; in P5, ~8 ms.
 */
const CLAIM_BATCH = 8;

/** What an empty claim answers (pg-boss reads `rows`). */
const NOTHING_CLAIMED: QueryResult = { command: 'UPDATE', rowCount: 0, oid: 0, fields: [], rows: [] };

/**
 * Starts each claimed job's attempt in pg-boss's claim statement (db/jobs/start-attempt-on-claim.ts)
 * and holds it until the handler of that claim takes it. Registered on the analysis queue's
 * claims by startWorkers.
 */
export class AttemptStartsOnClaim implements ClaimExtension {
  /** By pg-boss entry id, until its handler ends (`done`). An entry a handler never gets
   * (pg-boss stopped between claim and handler) stays until the entry is claimed again,
   * which replaces it. */
  readonly #started = new Map<string, TakenFromClaim>();

  /** The last claim this process sent, while it is in flight. */
  #inFlight: ClaimInFlight | undefined;

  /** The statement for each claim text pg-boss sends (one per batch size and trace setting). */
  readonly #statements = new Map<string, string>();

  #sqlFor(claim: string): string {
    let statement = this.#statements.get(claim);
    if (statement === undefined) {
      statement = startAttemptOnClaimSql(claim, this.inlineUpTo);
      if (this.#statements.size >= 16) this.#statements.clear(); // texts that vary: no cache
      this.#statements.set(claim, statement);
    }
    return statement;
  }

  /**
   * How many entries a worker's claim may ask for: CLAIM_BATCH when the installed pg-boss's
   * claim can be narrowed to a run of small jobs, else 1 (a batch could then hold two big ones).
   */
  readonly batchSize: number;

  /**
   * `inlineUpTo`: files up to this many bytes come back with the start (start-attempt.ts).
   * `notifications`: NOTIFYs the process's listener has delivered so far (ClaimExtensions).
   */
  constructor(
    private readonly inlineUpTo: number,
    private readonly notifications: () => number = () => 0,
  ) {
    const sample = plans.fetchNextJob({
      schema: 'pgboss',
      table: 'job_common',
      name: 'sample',
      policy: 'standard',
      limit: CLAIM_BATCH,
    }).text;
    this.batchSize = inlineUpTo > 0 && smallBatchClaim(sample, inlineUpTo) !== undefined ? CLAIM_BATCH : 1;
  }

  /**
   * One NOTIFY wakes every idle slot of the process, and each claimed: one job, and an empty
   * claim from each other slot (a statement each, one of T's two claims a job). A claim sent
   * while another of this process is in flight, with no NOTIFY since that one was sent,
   * waits for it: when it left nothing claimable, this one would find nothing either and is
   * answered empty here. Anything sent since comes with a NOTIFY, which pg-boss keeps for
   * the slot if it arrives once the slot's fetch began (it then fetches again at once), and
   * which otherwise changes the count first, so this claim goes to the database.
   */
  async run(claim: BossStatement, execute: RunStatement): Promise<QueryResult> {
    const seen = this.notifications();
    const earlier = this.#inFlight;
    if (earlier !== undefined && earlier.notifications === seen) {
      const leftMore = await earlier.leftMore;
      if (!leftMore && this.notifications() === seen) return NOTHING_CLAIMED;
    }
    const claimed = execute({ text: this.#sqlFor(claim.text), values: claim.values }).then((result) => {
      // An empty claim left nothing; a claim that took entries says whether more waited.
      let leftMore = false;
      for (const row of result.rows as Record<string, unknown>[]) {
        const taken = takeStartedOnClaim(row);
        this.#started.set(String(row.id), taken);
        leftMore ||= taken.moreWaiting;
      }
      return { result, leftMore };
    });
    const mine: ClaimInFlight = {
      notifications: seen,
      // A failed claim says nothing: the next goes to the database.
      leftMore: claimed.then(
        (c) => c.leftMore,
        () => true,
      ),
    };
    this.#inFlight = mine;
    try {
      return (await claimed).result;
    } finally {
      if (this.#inFlight === mine) this.#inFlight = undefined;
    }
  }

  /**
   * The attempt the claim of entry `entryId` started: null when the job was final and
   * there is nothing to run, undefined when its claim started none (start it now).
   */
  take(entryId: string): StartedOnClaim | null | undefined {
    return this.#started.get(entryId)?.started;
  }

  /**
   * Whether the claim of entry `entryId` saw more claimable entries than it took (true when
   * unknown), and forgets the entry: called once its handler ends.
   */
  done(entryId: string): boolean {
    const taken = this.#started.get(entryId);
    this.#started.delete(entryId);
    return taken?.moreWaiting ?? true;
  }
}
