import type { QueryResult } from 'pg';
import BossDb from 'pg-boss/dist/db.js';
import { withStatementName, type StatementNames } from '../lib/statement-names.ts';
import { ClaimExtensions } from './claim-extension.ts';

export type BossDbConfig = ConstructorParameters<typeof BossDb>[0];
type ExecuteOptions = NonNullable<Parameters<BossDb['executeSql']>[2]>;

/**
 * pg-boss's own connection pool (events, pool counts, transactions as pg-boss made them),
 * whose claims of a queue can carry work of ours (`claims`, queue/claim-extension.ts), and
 * whose repeated statements go as named prepared statements where the connections keep their
 * sessions (`names`, lib/statement-names.ts). pg-boss 12 takes such a subclass as its `db`.
 */
export class TallyBossDb extends BossDb {
  constructor(
    config: BossDbConfig,
    readonly claims = new ClaimExtensions(),
    private readonly names?: StatementNames,
  ) {
    super(config);
  }

  override executeSql(text: string, values?: unknown[], options?: ExecuteOptions): Promise<QueryResult> {
    const extension = this.claims.forStatement(text);
    if (extension === undefined) return this.#execute(text, values, options);
    return extension.run({ text, values }, (statement) =>
      this.#execute(statement.text, statement.values, options),
    );
  }

  #execute(text: string, values: unknown[] | undefined, options: ExecuteOptions | undefined) {
    const [named] = this.names && values ? withStatementName(this.names, [text, values]) : [text];
    // pg-boss hands `text` on to node-pg's query(), which takes a query config in its place.
    return super.executeSql(named as string, values, options);
  }
}
