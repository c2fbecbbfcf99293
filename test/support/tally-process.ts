/**
 * A Tally process for fault tests: the same start-up as src/main.ts, plus worker hooks
 * chosen by the test on the command line (never by environment flags in production code).
 *
 *   node --import tsx test/support/tally-process.ts <all|api|worker> [--throttle <bytes>:<ms>]
 */
import { startTally, type Role } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { stopOnSignals } from '../../src/lifecycle.ts';
import { createLogger } from '../../src/logger.ts';
import { throttledSource } from './sources.ts';

const role = (process.argv[2] ?? 'all') as Role;
const throttleArg = process.argv.indexOf('--throttle');
const throttle = throttleArg > 0 ? process.argv[throttleArg + 1]?.split(':').map(Number) : undefined;

const config = loadConfig();
const log = createLogger(config.LOG_LEVEL, { role, pid: process.pid });
if (!config.DATABASE_URL) throw new Error('tally-process needs DATABASE_URL');
const tally = await startTally({
  role,
  config,
  databaseUrl: config.DATABASE_URL,
  log,
  ...(throttle
    ? { workerHooks: { wrapSource: throttledSource(throttle[0] ?? 4096, throttle[1] ?? 10) } }
    : {}),
});
log.info({ url: tally.url }, 'tally started');
stopOnSignals(tally, { log, graceMs: config.SHUTDOWN_GRACE_MS });
