import type { QueryResult } from 'pg';

/** A statement as pg-boss sends it: text with positional parameters. */
export interface BossStatement {
  text: string;
  values: unknown[] | undefined;
}

export type RunStatement = (statement: BossStatement) => Promise<QueryResult>;

/** Runs `work` in one transaction on one connection of pg-boss's pool; its statements go unnamed. */
export type InTransaction = <T>(work: (run: RunStatement) => Promise<T>) => Promise<T>;

/**
 * Work that rides in the statement pg-boss claims a queue's jobs with, so a claimed job
 * needs no second round trip before it runs (the attempt's start: worker/start-on-claim.ts).
 * `run` gets pg-boss's own claim and must answer with the rows pg-boss expects of it.
 */
export interface ClaimExtension {
  run(claim: BossStatement, execute: RunStatement, inTransaction: InTransaction): Promise<QueryResult>;
}

/**
 * pg-boss 12's claim (plans.js `fetchNextJob`): one data-modifying statement, `WITH next AS
 * (… FOR UPDATE SKIP LOCKED) UPDATE <table> j SET state = 'active', started_on = … WHERE
 * name = '<queue>' AND … RETURNING j.…`. No other statement of pg-boss sets a job active.
 * Being one statement ending in RETURNING, it can be the first CTE of a longer one.
 */
const CLAIM =
  /\bUPDATE\s+[\w".]+\s+j\s+SET\s+state\s*=\s*'active',\s*started_on\b[\s\S]*?\bWHERE\s+name\s*=\s*'([^']+)'\s+AND\b[\s\S]*\bRETURNING\s+j\./;

/**
 * The queue whose jobs `text` claims, or undefined when it is any other statement. A
 * pg-boss upgrade that reshapes its claim makes this undefined: claims then run as pg-boss
 * wrote them, and whatever rode on them runs on its own (test/worker/start-on-claim.test.ts
 * goes red on that, so the upgrade is noticed).
 */
export function claimedQueue(text: string): string | undefined {
  const trimmed = text.trim();
  if (!/^WITH\b/i.test(trimmed) || trimmed.includes(';')) return undefined;
  return CLAIM.exec(trimmed)?.[1];
}

/** pg-boss's plain claim joining the entries it chose (`next`, locked) back to its table. */
const JOINED = /\bFROM\s+next\s+WHERE\s+name\s*=\s*('[^']+')\s+AND\s+j\.id\s*=\s*next\.id\b/;

/**
 * pg-boss's plain claim with its chosen entries found by key instead of joined, or
 * undefined when `claim` is not that claim: such a claim is then planned afresh each time
 * (queue/boss-db.ts).
 *
 * Why: repeated statements go as named prepared statements, whose plan PostgreSQL makes
 * once per connection (a statement without parameters, as a claim is, gets that generic
 * plan from its first run). Made while the queue's table was small, the join looked like
 * one row on each side, and PostgreSQL read every entry of the queue (completed ones
 * included, which pg-boss keeps for a day) and tested each against `next`: 2,000 entries
 * a claim by the end of P5 (auto_explain), 5,011 in test/queue/claim-plan.test.ts. By key,
 * `j.id = ANY (ARRAY(SELECT id FROM next))` as pg-boss's own grouped claim has it, the
 * primary key (name, id) is looked up for the chosen ids: same rows locked and updated.
 * Planning the claim afresh instead cost ~2 ms more PostgreSQL CPU per small job in T (two
 * claims a job); docs/performance.md.
 */
export function keyedClaim(claim: string): string | undefined {
  const keyed = claim.replace(
    JOINED,
    (_, queue: string) => `WHERE name = ${queue} AND j.id = ANY (ARRAY(SELECT id FROM next))`,
  );
  return keyed === claim ? undefined : keyed;
}

/** The extensions of a pg-boss connection, by queue. */
export class ClaimExtensions {
  readonly #byQueue = new Map<string, ClaimExtension>();
  /**
   * NOTIFYs (and listener reconnects, which stand for the ones missed) the connection's
   * listener has delivered so far, counted by queue/boss-db.ts: a claim can tell whether
   * anything was sent since another claim's snapshot (worker/start-on-claim.ts).
   */
  notifications = 0;
  /**
   * Queues whose NOTIFYs this process counts but does not act on: it finds their jobs by its
   * poll (every 2 s) and, while its claims find more waiting, claims again at once
   * (worker/start-workers.ts). A worker process behind others that have a slot per core of
   * its machine leaves new jobs to them (worker/wake-policy.ts).
   */
  readonly pollOnly = new Set<string>();

  /** Extends every later claim of `queue` (one extension per queue). */
  extend(queue: string, extension: ClaimExtension): void {
    if (this.#byQueue.has(queue)) throw new Error(`claims of ${queue} are already extended`);
    this.#byQueue.set(queue, extension);
  }

  /** The extension of `queue`'s claims (claimedQueue names the queue a claim is of). */
  forQueue(queue: string): ClaimExtension | undefined {
    return this.#byQueue.get(queue);
  }
}
