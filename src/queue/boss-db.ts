import type { QueryResult } from 'pg';
import BossDb from 'pg-boss/dist/db.js';
import { withStatementName, type StatementNames } from '../lib/statement-names.ts';
import { ClaimExtensions, claimedQueue } from './claim-extension.ts';
import type { SettledAhead } from './settled-ahead.ts';

export type BossDbConfig = ConstructorParameters<typeof BossDb>[0];

/** What rides on pg-boss's statements (see TallyBossDb). */
export interface TallyBossDbHooks {
  claims?: ClaimExtensions | undefined;
  names?: StatementNames | undefined;
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
  private readonly settledAhead: SettledAhead | undefined;

  constructor(config: BossDbConfig, hooks: TallyBossDbHooks = {}) {
    super(config);
    this.claims = hooks.claims ?? new ClaimExtensions();
    this.names = hooks.names;
    this.settledAhead = hooks.settledAhead;
  }

  override executeSql(text: string, values?: unknown[], options?: ExecuteOptions): Promise<QueryResult> {
    const answered = this.settledAhead?.answer(text, values);
    if (answered !== undefined) return Promise.resolve(answered);
    if (claimedQueue(text) === undefined) return this.#execute(text, values, options, true);
    const extension = this.claims.forStatement(text);
    if (extension === undefined) return this.#execute(text, values, options, false);
    return extension.run({ text, values }, (statement) =>
      this.#execute(statement.text, statement.values, options, false),
    );
  }

  /**
   * `nameable`: false for claims. A named statement's plan is made once per connection and
   * kept (PostgreSQL's generic plan, chosen after five runs); for a claim that plan is made
   * while the queue's table is still small, and its estimates of one row per side can join
   * the claimed entry to its row by scanning every entry of the queue: measured with
   * auto_explain on P5, a claim read all 2,000 rows of the table (completed entries
   * included) by its end, 1.06 ms a claim against 0.3 ms planned afresh, and pg-boss keeps
   * completed entries for days. Sent unnamed, a claim is planned for the table as it is
   * (~0.6 ms of planning): test/worker/claim-plan.test.ts.
   */
  #execute(
    text: string,
    values: unknown[] | undefined,
    options: ExecuteOptions | undefined,
    nameable: boolean,
  ) {
    const [named] = nameable && this.names && values ? withStatementName(this.names, [text, values]) : [text];
    // pg-boss hands `text` on to node-pg's query(), which takes a query config in its place.
    return super.executeSql(named as string, values, options);
  }
}
