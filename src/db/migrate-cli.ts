/**
 * The release step of a deployment: `npx tsx src/db/migrate-cli.ts` with DATABASE_URL set.
 * Applies Tally's migrations, then pg-boss's (and creates the analysis queue), and exits.
 * Every process also migrates at start-up (safe: both migrators take locks), so this is
 * optional; it exists so a platform can fail a deploy on a bad migration before any new
 * process starts, and so the app's runtime role can later lose its DDL rights.
 */
import { loadConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
import { startBoss } from '../queue/boss.ts';
import { migrateOverSession } from './migrate.ts';

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required.');
  const log = createLogger(config.LOG_LEVEL, { component: 'migrate' });
  await migrateOverSession(config.LISTEN_DATABASE_URL ?? config.DATABASE_URL, log);
  const boss = await startBoss(
    config.DATABASE_URL,
    {
      heartbeatSeconds: config.JOB_HEARTBEAT_SECONDS,
      expireInSeconds: config.JOB_EXPIRE_SECONDS,
      retryLimit: config.JOB_RETRY_LIMIT,
      supervise: false,
      poolMax: 1,
      ...(config.LISTEN_DATABASE_URL ? { listenConnectionString: config.LISTEN_DATABASE_URL } : {}),
    },
    log,
  );
  await boss.stop({ graceful: false, close: true });
  log.info('migrations done');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`migration failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
