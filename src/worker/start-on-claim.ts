import {
  startAttemptOnClaimSql,
  takeStartedOnClaim,
  type StartedOnClaim,
  type TakenFromClaim,
} from '../db/jobs/start-attempt-on-claim.ts';
import type { BossStatement, ClaimExtension, RunStatement } from '../queue/claim-extension.ts';

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

  /** `inlineUpTo`: files up to this many bytes come back with the start (start-attempt.ts). */
  constructor(private readonly inlineUpTo: number) {}

  async run(claim: BossStatement, execute: RunStatement) {
    const result = await execute({
      text: startAttemptOnClaimSql(claim.text, this.inlineUpTo),
      values: claim.values,
    });
    for (const row of result.rows as Record<string, unknown>[])
      this.#started.set(String(row.id), takeStartedOnClaim(row));
    return result;
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
