import type { Tally } from './app.ts';
import type { Logger } from './logger.ts';

/**
 * SIGINT/SIGTERM → graceful stop: no new uploads, workers stop claiming, running jobs
 * finish within the grace period or go back to the queue, then the embedded PostgreSQL
 * (if any) stops last. Exit code 0 on a clean stop; a stop that hangs past the grace
 * period plus a margin exits 1.
 */
export function stopOnSignals(
  tally: Tally,
  opts: { log: Logger; graceMs: number; afterClose?: () => Promise<void> },
): void {
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    opts.log.info({ signal }, 'shutting down');
    const hardStop = setTimeout(() => {
      opts.log.error('shutdown took too long; exiting');
      process.exit(1);
    }, opts.graceMs + 15_000);
    hardStop.unref();
    tally
      .close()
      .then(() => opts.afterClose?.())
      .then(() => {
        opts.log.info('stopped');
        process.exit(0);
      })
      .catch((error: unknown) => {
        opts.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
