import type { Pool, QueryResult } from 'pg';
import BossDb from 'pg-boss/dist/db.js';
import { inClientTransaction } from '../lib/client-transaction.ts';
import { PlanFunctions } from '../lib/plan-functions.ts';
import { withStatementName, type StatementNames } from '../lib/statement-names.ts';
import type { Logger } from '../logger.ts';
import { ClaimExtensions, claimedQueue, keyedClaim, type RunStatement } from './claim-extension.ts';
import type { SettledAhead } from './settled-ahead.ts';

export type BossDbConfig = ConstructorParameters<typeof BossDb>[0];

/** What rides on pg-boss's statements (see TallyBossDb). */
export interface TallyBossDbHooks {
  claims?: ClaimExtensions | undefined;
  names?: StatementNames | undefined;
  /**
   * Behind a transaction pooler, where `names` is unset, a logger to warn on: repeated
   * statements keep their plan in a function each (lib/plan-functions.ts).
   */
  plansLog?: Logger | undefined;
  settledAhead?: SettledAhead | undefined;
}
type ExecuteOptions = NonNullable<Parameters<BossDb['executeSql']>[2]>;

/**
 * pg-boss's own connection pool (events, pool counts, transactions as pg-boss made them),
 * whose claims of a queue can carry work of ours (`claims`, queue/claim-extension.ts), and
 * whose repeated statements go as named prepared statements where the connections keep their
 * sessions (`names`, lib/statement-names.ts). pg-boss 12 takes such a subclass as its `db`.
 */
export class TallyBossDb extends BossDb {
  readonly claims: ClaimExtensions;
  private readonly names: StatementNames | undefined;
  private readonly plans: PlanFunctions | undefined;
  private readonly settledAhead: SettledAhead | undefined;

  constructor(config: BossDbConfig, hooks: TallyBossDbHooks = {}) {
    super(config);
    this.claims = hooks.claims ?? new ClaimExtensions();
    this.names = hooks.names;
    this.plans =
      hooks.plansLog && new PlanFunctions((text, values) => super.executeSql(text, values), hooks.plansLog);
    this.settledAhead = hooks.settledAhead;
  }

  override executeSql(text: string, values?: unknown[], options?: ExecuteOptions): Promise<QueryResult> {
    const answered = this.settledAhead?.answer(text, values);
    if (answered !== undefined) return Promise.resolve(answered);
    const queue = claimedQueue(text);
    if (queue === undefined) return this.#execute(text, values, options, true);
    const keyed = keyedClaim(text);
    const claim = keyed ?? text;
    const extension = this.claims.forQueue(queue);
    if (extension === undefined) return this.#execute(claim, values, options, keyed !== undefined);
    return extension.run(
      { text: claim, values },
      (statement) => this.#execute(statement.text, statement.values, options, keyed !== undefined),
      (work) => this.#inTransaction(work),
    );
  }

  /** BEGIN, `work`'s statements, COMMIT (ROLLBACK if it throws) on one connection of the pool. */
  #inTransaction<T>(work: (run: RunStatement) => Promise<T>): Promise<T> {
    // pg-boss's pool (its Db opens it in open()); declared private in its types only.
    const pool = (this as unknown as { pool: Pool }).pool;
    return inClientTransaction(pool, (client) =>
      work((statement) => client.query(statement.text, statement.values)),
    );
  }

  override listen(...[channel, onNotification, onReconnect]: Parameters<BossDb['listen']>) {
    return super.listen(channel, ...this.counted(onNotification, onReconnect));
  }

  /**
   * The listener's callbacks, counting what they deliver (ClaimExtensions.notifications); a
   * NOTIFY of a poll-only queue (ClaimExtensions.pollOnly; its payload is the queue's name)
   * is counted and not passed on.
   */
  protected counted(
    onNotification: Parameters<BossDb['listen']>[1],
    onReconnect: Parameters<BossDb['listen']>[2],
  ): [Parameters<BossDb['listen']>[1], Parameters<BossDb['listen']>[2]] {
    return [
      (payload) => {
        this.claims.notifications++;
        if (!this.claims.pollOnly.has(payload)) onNotification(payload);
      },
      () => {
        this.claims.notifications++;
        onReconnect();
      },
    ];
  }

  /**
   * `nameable`: false for a claim pg-boss's fetch did not shape as keyedClaim expects
   * (queue/claim-extension.ts): a named statement (or a function: lib/plan-functions.ts)
   * keeps the plan it was first given, and a claim's must hold however its table grows
   * (test/queue/claim-plan.test.ts).
   */
  #execute(
    text: string,
    values: unknown[] | undefined,
    options: ExecuteOptions | undefined,
    nameable: boolean,
  ): Promise<QueryResult> {
    if (this.plans && nameable && plannable(text, values))
      return this.plans.run(text, values ?? [], (t, v) => super.executeSql(t, v, options));
    const [named] = nameable && this.names && values ? withStatementName(this.names, [text, values]) : [text];
    // pg-boss hands `text` on to node-pg's query(), which takes a query config in its place.
    return super.executeSql(named as string, values, options);
  }
}

/** A single statement worth keeping a plan for: with parameters, or a query (a claim) without. */
function plannable(text: string, values: unknown[] | undefined): boolean {
  return (values !== undefined && values.length > 0) || /^\s*(with|select)\b/i.test(text);
}
