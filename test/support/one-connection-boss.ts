import type { PgBoss } from 'pg-boss';
import { StatementNames } from '../../src/lib/statement-names.ts';
import { createLogger } from '../../src/logger.ts';
import { startBoss } from '../../src/queue/boss.ts';
import type { ClaimExtensions } from '../../src/queue/claim-extension.ts';

/**
 * pg-boss on one kept connection with statement names, as a worker's pool runs it: what
 * that connection prepared (pg_prepared_statements is per session) and planned can be read
 * back through `boss.getDb()`.
 */
export function startOneConnectionBoss(url: string, claims?: ClaimExtensions): Promise<PgBoss> {
  return startBoss(
    url,
    {
      heartbeatSeconds: 30,
      expireInSeconds: 60,
      retryLimit: 0,
      supervise: false,
      poolMax: 1,
      statementNames: new StatementNames(),
      ...(claims ? { claims } : {}),
    },
    createLogger('silent'),
  );
}
