import type { QueryResult } from 'pg';

/** A statement as pg-boss sends it: text with positional parameters. */
export interface BossStatement {
  text: string;
  values: unknown[] | undefined;
}

export type RunStatement = (statement: BossStatement) => Promise<QueryResult>;

/**
 * Work that rides in the statement pg-boss claims a queue's jobs with, so a claimed job
 * needs no second round trip before it runs (the attempt's start: worker/start-on-claim.ts).
 * `run` gets pg-boss's own claim and must answer with the rows pg-boss expects of it.
 */
export interface ClaimExtension {
  run(claim: BossStatement, execute: RunStatement): Promise<QueryResult>;
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

/** The extensions of a pg-boss connection, by queue. */
export class ClaimExtensions {
  readonly #byQueue = new Map<string, ClaimExtension>();

  /** Extends every later claim of `queue` (one extension per queue). */
  extend(queue: string, extension: ClaimExtension): void {
    if (this.#byQueue.has(queue)) throw new Error(`claims of ${queue} are already extended`);
    this.#byQueue.set(queue, extension);
  }

  /** The extension for `text` when it claims jobs of an extended queue. */
  forStatement(text: string): ClaimExtension | undefined {
    if (this.#byQueue.size === 0) return undefined;
    const queue = claimedQueue(text);
    return queue === undefined ? undefined : this.#byQueue.get(queue);
  }
}
