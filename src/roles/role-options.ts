import type { ApiOptions } from '../api/server.ts';
import type { Config } from '../config.ts';
import type { StoredFilesOptions } from '../files/create-stored-files.ts';
import type { ApiRoleOptions } from './api-role.ts';
import type { WorkerRoleOptions } from './worker-role.ts';

/**
 * The environment, translated once at the edge into each component's own options: below
 * this file nothing reads an environment variable's name.
 */
export function apiServerOptions(config: Config): ApiOptions {
  return {
    headersTimeoutMs: config.HEADERS_TIMEOUT_MS,
    trustProxy: config.TRUST_PROXY,
    corsOrigins: config.CORS_ORIGINS,
    auth: {
      apiTokens: config.API_TOKENS,
      signingKeys: config.TOKEN_SIGNING_KEYS,
      issuer: config.TOKEN_ISSUER,
      audience: config.TOKEN_AUDIENCE,
    },
    maxConnections: config.MAX_CONNECTIONS,
    longPolls: { perOwner: config.LONG_POLLS_PER_OWNER, total: config.LONG_POLLS_MAX },
    watches: { perOwner: config.WATCH_STREAMS_PER_OWNER, total: config.WATCH_STREAMS_MAX },
    jobCreationsPerMinute: config.UPLOAD_RATE_LIMIT_PER_MINUTE,
    trpcCallsPerSecond: config.TRPC_RATE_LIMIT_PER_SECOND,
    rerunMaxInFlight: config.RERUN_MAX_IN_FLIGHT,
    uploads: {
      maxFileBytes: config.MAX_UPLOAD_BYTES,
      idleTimeoutMs: config.UPLOAD_IDLE_TIMEOUT_MS,
      minBytesPerSecond: config.UPLOAD_MIN_BYTES_PER_SECOND,
      rateGraceMs: config.UPLOAD_RATE_GRACE_MS,
    },
    resumableUploads: {
      maxUploadBytes: config.MAX_UPLOAD_BYTES,
      idleTimeoutMs: config.UPLOAD_IDLE_TIMEOUT_MS,
      ratePerMinute: config.UPLOAD_RATE_LIMIT_PER_MINUTE,
      stagingLeaseMs: config.UPLOAD_STAGING_LEASE_MS,
      ttlHours: config.RESUMABLE_UPLOAD_TTL_HOURS,
    },
  };
}

export function apiRoleOptions(config: Config): ApiRoleOptions {
  return {
    server: apiServerOptions(config),
    host: config.HOST,
    port: config.PORT,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
  };
}

/** `withMetrics`: a process without the API serves its probes on METRICS_PORT, if set. */
export function workerRoleOptions(config: Config, withMetrics: boolean): WorkerRoleOptions {
  return {
    analysis: {
      retryLimit: config.JOB_RETRY_LIMIT,
      maxRecordBytes: config.MAX_RECORD_BYTES,
      maxDecompressedBytes: config.MAX_DECOMPRESSED_BYTES,
      maxDecompressionRatio: config.MAX_DECOMPRESSION_RATIO,
      spill: {
        dir: config.SPILL_DIR,
        thresholdKeys: config.SPILL_THRESHOLD_KEYS,
        maxBytes: config.SPILL_MAX_BYTES,
      },
    },
    split: { minBytes: config.PARALLEL_ANALYSIS_MIN_BYTES, parts: config.PARALLEL_ANALYSIS_PARTS },
    concurrency: config.WORKER_CONCURRENCY,
    maxRunningPerOwner: config.WORKER_MAX_RUNNING_PER_OWNER,
    fileRetentionHours: config.FILE_RETENTION_HOURS,
    jobRetentionDays: config.JOB_RETENTION_DAYS,
    webhooks:
      config.WEBHOOK_URL !== undefined && config.WEBHOOK_SECRET !== undefined
        ? {
            url: config.WEBHOOK_URL,
            key: config.WEBHOOK_SECRET,
            timeoutMs: config.WEBHOOK_TIMEOUT_MS,
            retryDelaySeconds: config.WEBHOOK_RETRY_DELAY_SECONDS,
          }
        : undefined,
    metrics:
      withMetrics && config.METRICS_PORT !== undefined
        ? { host: config.HOST, port: config.METRICS_PORT }
        : undefined,
  };
}

/** Where uploaded bytes live (FILE_STORE and, for s3, its S3_* variables). */
export function storedFilesOptions(config: Config): StoredFilesOptions {
  const options = { store: config.FILE_STORE, stagingLeaseMs: config.UPLOAD_STAGING_LEASE_MS };
  if (config.FILE_STORE !== 's3') return options;
  // loadConfig refuses FILE_STORE=s3 without S3_BUCKET at start-up, naming the variable.
  if (config.S3_BUCKET === undefined) throw new Error('FILE_STORE=s3 needs S3_BUCKET');
  return {
    ...options,
    s3: {
      bucket: config.S3_BUCKET,
      prefix: config.S3_PREFIX,
      endpoint: config.S3_ENDPOINT,
      region: config.S3_REGION,
      forcePathStyle: config.S3_FORCE_PATH_STYLE,
    },
  };
}
