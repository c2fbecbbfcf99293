import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Tally's Prometheus metrics: one registry per process, shared by the API and the workers
 * that run in it. Recording is a plain function call so upload and worker code stay free
 * of metric objects; `GET /metrics` (metrics-plugin.ts) or the worker's METRICS_PORT
 * (metrics-server.ts) serve it.
 *
 * A registry of our own rather than prom-client's global one, so a library that also
 * registers on the global registry cannot collide with our names.
 */
export const registry = new Registry();
/**
 * The event-loop lag histogram samples every 50 ms, not prom-client's default 10 ms: each
 * sample wakes an idle process. A process with nothing but the default metrics, Node 24,
 * 20 s idle: 3.7 ms of CPU a second at 10 ms, 0.8 at 50 ms, 0.07 without them; an idle
 * worker (one past the cores polls and waits: worker/wake-policy.ts) 7.3 → 5.3 ms a second
 * (2026-12-06, docs/performance.md). A stall of the loop still shows in full: the sample
 * after it waits the stall out.
 */
collectDefaultMetrics({ register: registry, prefix: 'tally_', eventLoopMonitoringPrecision: 50 });

const uploads = new Counter({
  name: 'tally_uploads_total',
  help: 'Uploads that became a job (created) or matched an earlier Idempotency-Key (duplicate).',
  labelNames: ['result'] as const,
  registers: [registry],
});

const uploadBytes = new Counter({
  name: 'tally_upload_bytes_total',
  help: 'Bytes of uploads that became a new job, as sent (gzip uploads count compressed).',
  registers: [registry],
});

/** Set from the database at scrape time (see setJobsInFlight), not counted in-process. */
const jobsInFlight = new Gauge({
  name: 'tally_jobs',
  help: 'Jobs queued or running right now, across all processes (read from the jobs table at scrape time).',
  labelNames: ['state'] as const,
  registers: [registry],
});

const jobsFinished = new Counter({
  name: 'tally_jobs_finished_total',
  help: 'Attempts this process ended, by outcome (completed, failed, retry, superseded).',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

// Small CSVs finish in tens of milliseconds; a 1 GiB file runs for minutes.
const jobDuration = new Histogram({
  name: 'tally_job_duration_seconds',
  help: 'Run time of one attempt, claim to final write, by outcome.',
  labelNames: ['outcome'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
  registers: [registry],
});

const queueWait = new Histogram({
  name: 'tally_job_queue_wait_seconds',
  help: 'Time from upload to the start of the first attempt.',
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
  registers: [registry],
});

const rowsProcessed = new Counter({
  name: 'tally_rows_processed_total',
  help: 'CSV rows read by completed attempts.',
  registers: [registry],
});

const longPollsWaiting = new Gauge({
  name: 'tally_long_polls',
  help: 'jobs.status long polls this API process holds right now (bounded by LONG_POLLS_MAX).',
  registers: [registry],
});

const httpDuration = new Histogram({
  name: 'tally_http_request_duration_seconds',
  help: 'HTTP request latency by route pattern (never the raw URL, which would be unbounded).',
  labelNames: ['method', 'route', 'status_code'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

/**
 * How an attempt ended, as the `outcome` label says it. Not db/jobs' AttemptOutcome (what
 * an attempt writes): 'retry' and 'superseded' are endings that write nothing of their own.
 */
export type AttemptOutcomeLabel = 'completed' | 'failed' | 'retry' | 'superseded';

export function observeUpload(bytes: number, created: boolean): void {
  uploads.inc({ result: created ? 'created' : 'duplicate' });
  if (created) uploadBytes.inc(bytes);
}

/**
 * Job ids are UUIDv7: their first 48 bits are the upload's Unix time in milliseconds, so
 * the queue wait needs no extra query. Only first attempts count: a retry's wait is
 * pg-boss's backoff, not queueing.
 */
export function observeAttemptStarted(jobId: string, attempt: number, now = Date.now()): void {
  if (attempt !== 1) return;
  const createdMs = uuidV7Millis(jobId);
  if (createdMs !== undefined) queueWait.observe(Math.max(0, now - createdMs) / 1000);
}

export function observeAttemptFinished(outcome: AttemptOutcomeLabel, seconds: number, rows = 0): void {
  jobsFinished.inc({ outcome });
  jobDuration.observe({ outcome }, seconds);
  if (rows > 0) rowsProcessed.inc(rows);
}

export function observeHttpRequest(method: string, route: string, statusCode: number, seconds: number): void {
  httpDuration.observe({ method, route, status_code: String(statusCode) }, seconds);
}

const connectionsOpen = new Gauge({
  name: 'tally_connections',
  help: 'Sockets the API process holds right now (bounded by MAX_CONNECTIONS).',
  registers: [registry],
});

export function setApiGauges(counts: { longPolls: number; connections: number }): void {
  longPollsWaiting.set(counts.longPolls);
  connectionsOpen.set(counts.connections);
}

export function setJobsInFlight(counts: { queued: number; running: number }): void {
  jobsInFlight.set({ state: 'queued' }, counts.queued);
  jobsInFlight.set({ state: 'running' }, counts.running);
}

function uuidV7Millis(id: string): number | undefined {
  if (id.length !== 36 || id[14] !== '7') return undefined;
  const ms = Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
  return Number.isFinite(ms) ? ms : undefined;
}
