import { z } from 'zod';
import { intFromEnv } from './env-values.ts';

/** The process and its API: where it listens, its bounds on connections, calls and waits. */
export const servingEnv = {
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: intFromEnv(3000, 0, 65535),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Worker-only processes: serve /metrics and /readyz on HOST:METRICS_PORT (the API serves them itself). */
  METRICS_PORT: z.coerce
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .min(0, 'must be at least 0')
    .max(65535, 'must be at most 65535')
    .optional(),
  /** Open sockets the API holds; at the bound idle ones make room, else 503. Keep below `ulimit -n`. */
  MAX_CONNECTIONS: intFromEnv(10_000, 16),
  /** A connection must send its whole request head within this long (then 408 and closed). */
  HEADERS_TIMEOUT_MS: intFromEnv(10_000, 100),
  /** tRPC requests one owner (or one IP without a valid token) may make per second; bursts to 2×. Past it: 429. */
  TRPC_RATE_LIMIT_PER_SECOND: intFromEnv(200, 1),
  /**
   * Re-runs (jobs.rerun) one owner may have queued or running at once; one more is 429 with
   * Retry-After. Small: a re-run copies a stored file, and more of them than workers only wait.
   */
  RERUN_MAX_IN_FLIGHT: intFromEnv(3, 1),
  /** jobs.status long polls one owner may hold at once. Past it: 429. */
  LONG_POLLS_PER_OWNER: intFromEnv(1000, 1),
  /** Long polls the process holds at once, all owners. Past it: 503. Keep below MAX_CONNECTIONS. */
  LONG_POLLS_MAX: intFromEnv(8000, 1),
  /** jobs.watch (SSE) streams one owner may hold at once. Past it: 429 (the client then long-polls). */
  WATCH_STREAMS_PER_OWNER: intFromEnv(1000, 1),
  /** jobs.watch streams the process holds at once, all owners. Past it: 503. Keep below MAX_CONNECTIONS. */
  WATCH_STREAMS_MAX: intFromEnv(8000, 1),
  SHUTDOWN_GRACE_MS: intFromEnv(10_000, 0),
};
