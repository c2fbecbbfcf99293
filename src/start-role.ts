/**
 * Starts the role named on the command line (see src/main.ts, which checks Node.js first).
 * Without DATABASE_URL, the all-in-one process runs an embedded PostgreSQL in .data/.
 */
import { startTally, type Role } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from './db/embedded-postgres.ts';
import { createLogger } from './logger.ts';
import { webUiPlugin } from './api/web-ui.ts';
import { stopOnSignals } from './lifecycle.ts';

const roles: readonly Role[] = ['all', 'api', 'worker'];

async function main(): Promise<void> {
  const roleArg = process.argv[2] ?? 'all';
  // Release step (`… src/main.ts migrate`, e.g. Fly's release_command, which keeps the
  // image's ENTRYPOINT): migrate, then exit. The script runs and exits on import.
  if (roleArg === 'migrate') {
    await import('./db/migrate-cli.ts');
    return;
  }
  if (!roles.includes(roleArg as Role)) {
    process.stderr.write(`Unknown role "${roleArg}". Use one of: ${roles.join(', ')}, migrate.\n`);
    process.exit(2);
  }
  const role = roleArg as Role;

  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const log = createLogger(config.LOG_LEVEL, { role, pid: process.pid });

  let embedded: EmbeddedPostgresHandle | undefined;
  let databaseUrl = config.DATABASE_URL;
  if (!databaseUrl) {
    if (role !== 'all') {
      log.fatal('DATABASE_URL is required to run the api or worker role on its own');
      process.exit(1);
    }
    embedded = await startEmbeddedPostgres(config.DATA_DIR, log);
    databaseUrl = embedded.url;
  }

  const started = performance.now();
  const tally = await startTally({ role, config, databaseUrl, log, plugins: [webUiPlugin] });
  log.info({ url: tally.url, ms: Math.round(performance.now() - started) }, 'tally started');

  stopOnSignals(tally, {
    log,
    graceMs: config.SHUTDOWN_GRACE_MS,
    ...(embedded ? { afterClose: () => embedded.stop() } : {}),
  });
}

main().catch((error: unknown) => {
  process.stderr.write(
    `tally failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
