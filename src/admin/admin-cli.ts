/**
 * Operator commands that change jobs, run next to the deployment with its DATABASE_URL:
 *   npx tsx src/admin/admin-cli.ts retry <jobId> [<jobId>…]
 * (`npm run admin -- retry <jobId>`). Reading is plain SQL on tally_admin (docs/operations.md).
 */
import { PgBoss } from 'pg-boss';
import { loadConfig } from '../config.ts';
import { createDb } from '../db/database.ts';
import { createLogger } from '../logger.ts';
import { BOSS_SCHEMA } from '../queue/boss.ts';
import { retryFailedJob, retryRefusal } from '../job-lifecycle/retry-failed-job.ts';

const usage = 'usage: admin-cli retry <jobId> [<jobId>…]';

async function main(): Promise<number> {
  const [command, ...ids] = process.argv.slice(2);
  if (command !== 'retry' || ids.length === 0) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const config = loadConfig();
  if (!config.DATABASE_URL) {
    process.stderr.write('DATABASE_URL is required.\n');
    return 2;
  }
  const log = createLogger(config.LOG_LEVEL, { component: 'admin-cli' });
  const db = createDb(config.DATABASE_URL, { max: 2, applicationName: 'tally-admin' });
  // A sender only: no maintenance, no migrations (the running deployment owns both).
  const boss = new PgBoss({
    connectionString: config.DATABASE_URL,
    schema: BOSS_SCHEMA,
    application_name: 'tally-admin',
    max: 2,
    supervise: false,
    migrate: false,
    schedule: false,
  });
  boss.on('error', (error) => log.error({ err: error }, 'pg-boss error'));
  await boss.start();
  let failures = 0;
  try {
    for (const jobId of ids) {
      try {
        await retryFailedJob(db, boss, jobId);
        log.info({ jobId }, 'job queued again');
        process.stdout.write(`${jobId} queued\n`);
      } catch (error) {
        const reason = retryRefusal(error);
        if (!reason) throw error;
        failures++;
        process.stderr.write(`${jobId} not retried (${reason}): ${(error as Error).message}\n`);
      }
    }
  } finally {
    await boss.stop({ graceful: false, close: true });
    await db.close();
  }
  return failures === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`admin-cli failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
