import type { QueryResult } from 'pg';
import BossDb from 'pg-boss/dist/db.js';
import { ClaimExtensions } from './claim-extension.ts';

export type BossDbConfig = ConstructorParameters<typeof BossDb>[0];
type ExecuteOptions = NonNullable<Parameters<BossDb['executeSql']>[2]>;

/**
 * pg-boss's own connection pool (events, pool counts, transactions as pg-boss made them),
 * whose claims of a queue can carry work of ours (`claims`, queue/claim-extension.ts).
 * pg-boss 12 takes such a subclass as its `db`.
 */
export class TallyBossDb extends BossDb {
  constructor(
    config: BossDbConfig,
    readonly claims = new ClaimExtensions(),
  ) {
    super(config);
  }

  override executeSql(text: string, values?: unknown[], options?: ExecuteOptions): Promise<QueryResult> {
    const extension = this.claims.forStatement(text);
    if (extension === undefined) return super.executeSql(text, values, options);
    return extension.run({ text, values }, (statement) =>
      super.executeSql(statement.text, statement.values, options),
    );
  }
}
