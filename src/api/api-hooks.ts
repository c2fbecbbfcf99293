/**
 * Fault-injection seams for tests of the API, like `WorkerHooks` for the worker. Each is
 * undefined in production; the call sites cost one property check.
 */
export interface ApiHooks {
  /**
   * Runs after `jobs.status` has its row from PostgreSQL and before the row is used: a test
   * holds it here to commit a change (and let its NOTIFY arrive) while the read is in flight.
   */
  afterStatusRead?: (jobId: string) => Promise<void>;
}
