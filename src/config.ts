import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { RESERVED_OWNERS } from './auth/scopes.ts';
import { parseSigningKeys } from './auth/signing-keys.ts';
import { estimateEntropyBits } from './auth/token-entropy.ts';
import { parseWebhookSecret } from './webhooks/webhook-secret.ts';

/**
 * All configuration comes from environment variables and is validated once, at start-up.
 * A bad value stops the process with a message naming the variable, before anything
 * listens or connects.
 */
const GiB = 1024 ** 3;
/**
 * Keys per in-memory table before it spills (bench/cardinality.bench.ts, shared 2-vCPU VM):
 * at 250k the 1 GiB file with 10M customers and 1M products peaked at 369 MiB RSS (goal
 * ≤ 384) and ran at 0.52× the CPU-time speed of a same-size 100k-customer file, which never
 * spills (150 MiB). A lower threshold saves little: on a 64 MiB / 625k-customer file (with
 * the earlier Map-based table) 250k, 100k and 50k keys peaked at 364, 303 and 312 MiB, V8's
 * heap and buffers dominating, and 50k spilled twice the bytes.
 */
const SPILL_THRESHOLD_DEFAULT = 250_000;

const intFromEnv = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`)
    .default(fallback);

const tokenPair = z
  .string()
  .regex(
    /^[A-Za-z0-9._@-]{1,64}:[^\s,]{16,}$/,
    'each entry must be owner:token, with a token of 16+ characters',
  );

/** 16 random hex digits score ~50 bits by `estimateEntropyBits`; 16 identical characters 0. */
const MIN_API_TOKEN_ENTROPY_BITS = 40;

const parseApiTokens = (v: string | undefined, ctx: z.RefinementCtx) => {
  if (v === undefined || v.trim() === '') return undefined;
  const entries = v.split(',').map((e) => e.trim());
  const tokens = new Map<string, string>();
  // Messages name owners, never tokens.
  const fail = (message: string) => {
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  for (const entry of entries) {
    const parsed = tokenPair.safeParse(entry);
    if (!parsed.success) return fail(parsed.error.issues[0]?.message ?? 'invalid entry');
    const at = entry.indexOf(':');
    const owner = entry.slice(0, at);
    const token = entry.slice(at + 1);
    if (RESERVED_OWNERS.has(owner))
      return fail(`owner "${owner}" is reserved for auth-off mode (the loopback default); pick another name`);
    if (estimateEntropyBits(token) < MIN_API_TOKEN_ENTROPY_BITS)
      return fail(
        `the token of owner "${owner}" looks like a placeholder (too few different characters); use random bytes, e.g. \`openssl rand -hex 24\``,
      );
    const other = tokens.get(token);
    if (other !== undefined)
      return fail(`owners "${other}" and "${owner}" have the same token; give each owner its own`);
    tokens.set(token, owner);
  }
  return tokens; // token → owner
};

/** Exact origins (scheme://host[:port]) whose pages may call the API from a browser. */
const parseCorsOrigins = (v: string | undefined, ctx: z.RefinementCtx) => {
  if (v === undefined || v.trim() === '') return [] as string[];
  const origins: string[] = [];
  for (const entry of v
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')) {
    let origin: string | undefined;
    try {
      const url = new URL(entry);
      if (url.protocol === 'http:' || url.protocol === 'https:') origin = url.origin;
    } catch {
      origin = undefined;
    }
    if (origin === undefined || origin !== entry || entry.includes('*')) {
      ctx.addIssue({
        code: 'custom',
        message: `"${entry}" is not an exact origin; write scheme://host[:port] with no path, slash or wildcard (e.g. https://app.example.com)`,
      });
      return z.NEVER;
    }
    origins.push(origin);
  }
  return origins;
};

/**
 * TRUST_PROXY, as Fastify's `trustProxy` takes it: `true`/`false`, a hop count (how many
 * proxies in front of Tally may append to X-Forwarded-For), or a list of proxy addresses
 * and CIDR ranges (proxy-addr's names `loopback`, `linklocal`, `uniquelocal` too). Unset:
 * the socket's address is the client's (no header is trusted).
 */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);
const parseTrustProxy = (v: string | undefined, ctx: z.RefinementCtx): boolean | number | string[] => {
  if (v === undefined || v.trim() === '' || v.trim() === 'false') return false;
  const t = v.trim();
  if (t === 'true') return true;
  if (/^\d+$/.test(t)) {
    const hops = Number(t);
    if (hops > 0 && hops <= 32) return hops;
  }
  const entries = t.split(',').map((e) => e.trim());
  for (const entry of entries) {
    const [address = '', prefix, ...rest] = entry.split('/');
    const family = net.isIP(address);
    const bits = family === 4 ? 32 : 128;
    const prefixOk = prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= bits);
    if (!PROXY_RANGE_NAMES.has(entry) && (family === 0 || !prefixOk || rest.length > 0)) {
      ctx.addIssue({
        code: 'custom',
        message: `"${entry}" is not a proxy address; write true, false, a hop count from 1 to 32, or a list of IPs and CIDR ranges (e.g. 10.0.0.0/8,fd00::/8)`,
      });
      return z.NEVER;
    }
  }
  return entries;
};

const envSchema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  /**
   * v1.2: a direct or session-mode connection for LISTEN and what else needs a session
   * (migrations' lock, pg-boss's LISTEN). Default: DATABASE_URL. Set it when DATABASE_URL is a
   * pooler in transaction mode.
   */
  LISTEN_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  /**
   * `transaction`: DATABASE_URL is a pooler in transaction mode (no named prepared statements,
   * statement limits as SET LOCAL). Default: `transaction` when LISTEN_DATABASE_URL is set to
   * another URL than DATABASE_URL, else `session`.
   */
  DATABASE_POOL_MODE: z.enum(['session', 'transaction']).optional(),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: intFromEnv(3000, 0, 65535),
  MAX_UPLOAD_BYTES: intFromEnv(GiB, 1),
  /** Bound on what a gzip upload may inflate to: a zip bomb fails the job instead of the disk. */
  MAX_DECOMPRESSED_BYTES: intFromEnv(8 * GiB, 1),
  /**
   * Bound on what a gzip upload may inflate to per compressed byte, besides the absolute one:
   * a 10 MB bomb inflating to 8 GiB (ratio ~800) fails at its first MiBs instead of running
   * for minutes. Measured with gzip -1..-9: a realistic 10.6 MB revenue export 4.3–6.4×, rows
   * varying only in a counter and a date 15×, one row repeated a million times 412× (deflate's
   * ceiling is ~1,030×); 200 is 30× above the real export (test/security/gzip-bounds.test.ts).
   */
  MAX_DECOMPRESSION_RATIO: intFromEnv(200, 2),
  /** Largest single CSV record; one unclosed quote otherwise reads the whole file into one record. */
  MAX_RECORD_BYTES: intFromEnv(1024 * 1024, 1024),
  API_TOKENS: z.string().optional().transform(parseApiTokens),
  /**
   * Browser tokens: `kid:secret[,kid:secret…]`, HS256, secrets of 32+ bytes. The first key
   * is the one a backend signs with; all verify (rotation). Unset: no browser tokens.
   */
  TOKEN_SIGNING_KEYS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return undefined;
      try {
        return parseSigningKeys(v);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  /** When set, browser tokens must carry it as `iss`. */
  TOKEN_ISSUER: z.string().min(1).optional(),
  /** The `aud` browser tokens must name: give staging and production different ones when they share a key. */
  TOKEN_AUDIENCE: z
    .string()
    .regex(/^[\x21-\x7e]{1,200}$/, 'must be 1–200 printable characters without spaces')
    .default('tally'),
  /** Which proxy hops may set the client address (X-Forwarded-For): see parseTrustProxy. */
  TRUST_PROXY: z.string().optional().transform(parseTrustProxy),
  /** Origins allowed to call the API from a browser (CORS); unset = same origin only. */
  CORS_ORIGINS: z.string().optional().transform(parseCorsOrigins),
  /** An upload sending nothing for this long is cut off (408). */
  UPLOAD_IDLE_TIMEOUT_MS: intFromEnv(30_000, 100),
  /** After UPLOAD_RATE_GRACE_MS, an upload averaging less than this is cut off (408). */
  UPLOAD_MIN_BYTES_PER_SECOND: intFromEnv(1024, 0),
  UPLOAD_RATE_GRACE_MS: intFromEnv(10_000, 0),
  /**
   * An upload's chunks are staged in PostgreSQL as they arrive; its process renews a lease
   * on them every third of this. A staging not renewed this long (its API host died) is
   * swept by any process; one whose process is gone on the same host is swept at once.
   */
  UPLOAD_STAGING_LEASE_MS: intFromEnv(120_000, 1000),
  /** Uploads one owner may start per minute. */
  UPLOAD_RATE_LIMIT_PER_MINUTE: intFromEnv(120, 1),
  /**
   * Re-runs (jobs.rerun) one owner may have queued or running at once; one more is 429 with
   * Retry-After. Small: a re-run copies a stored file, and more of them than workers only wait.
   */
  RERUN_MAX_IN_FLIGHT: intFromEnv(3, 1),
  /** tRPC requests one owner (or one IP without a valid token) may make per second; bursts to 2×. Past it: 429. */
  TRPC_RATE_LIMIT_PER_SECOND: intFromEnv(200, 1),
  /** jobs.status long polls one owner may hold at once. Past it: 429. */
  LONG_POLLS_PER_OWNER: intFromEnv(1000, 1),
  /** Long polls the process holds at once, all owners. Past it: 503. Keep below MAX_CONNECTIONS. */
  LONG_POLLS_MAX: intFromEnv(8000, 1),
  /** jobs.watch (SSE) streams one owner may hold at once. Past it: 429 (the client then long-polls). */
  WATCH_STREAMS_PER_OWNER: intFromEnv(1000, 1),
  /** jobs.watch streams the process holds at once, all owners. Past it: 503. Keep below MAX_CONNECTIONS. */
  WATCH_STREAMS_MAX: intFromEnv(8000, 1),
  /** Open sockets the API holds; at the bound idle ones make room, else 503. Keep below `ulimit -n`. */
  MAX_CONNECTIONS: intFromEnv(10_000, 16),
  /** A connection must send its whole request head within this long (then 408 and closed). */
  HEADERS_TIMEOUT_MS: intFromEnv(10_000, 100),
  WORKER_CONCURRENCY: intFromEnv(2, 1, 256),
  /** pg-boss: seconds without a heartbeat before a running job is handed to another worker. */
  JOB_HEARTBEAT_SECONDS: intFromEnv(30, 10, 3600),
  /** pg-boss: hard cap on one attempt's run time. */
  JOB_EXPIRE_SECONDS: intFromEnv(3600, 60),
  JOB_RETRY_LIMIT: intFromEnv(3, 0, 100),
  /**
   * Fair share: a cap on one owner's running jobs across all workers (pg-boss group
   * concurrency). 0 (default): no cap; owners still take turns in the queue
   * (src/queue/fair-share.ts), so a second owner's job starts at the next free worker.
   */
  WORKER_MAX_RUNNING_PER_OWNER: intFromEnv(0, 0, 1000),
  /** Finished jobs (rows, results, stored bytes) are deleted this many days after they end. 0: kept forever. */
  JOB_RETENTION_DAYS: intFromEnv(0, 0, 36500),
  /** Stored upload bytes of finished jobs are deleted after this many hours; results stay. */
  FILE_RETENTION_HOURS: intFromEnv(24, 0),
  SHUTDOWN_GRACE_MS: intFromEnv(10_000, 0),
  /** Where uploaded bytes live (src/files/): `postgres`, chunks in the database. */
  FILE_STORE: z.enum(['postgres', 's3'], { error: 'must be postgres or s3' }).default('postgres'),
  /** Private directory for an analysis's spilled per-key partial aggregates. */
  SPILL_DIR: z.string().min(1).default(path.join(os.tmpdir(), 'tally-spill')),
  /** Distinct keys (customers, products or regions of one currency) held in memory before a table spills. */
  SPILL_THRESHOLD_KEYS: intFromEnv(SPILL_THRESHOLD_DEFAULT, 1),
  /** Temporary disk one analysis may use for spilling; more fails the job with ANALYSIS_TOO_LARGE. */
  SPILL_MAX_BYTES: intFromEnv(8 * GiB, 1024 * 1024),
  /** Plain uploads of at least this many bytes are analysed in parts by every worker at once. */
  PARALLEL_ANALYSIS_MIN_BYTES: intFromEnv(256 * 1024 * 1024, 1),
  /** Parts a big file is split into (about the number of worker processes in the fleet); 1: never split. */
  PARALLEL_ANALYSIS_PARTS: intFromEnv(4, 1, 256),
  DATA_DIR: z.string().min(1).default('.data'),
  DB_POOL_MAX: intFromEnv(10, 1, 1000),
  /** Longest statement a request may run, lock waits included; past it the request gets 503. 0: no limit. */
  DB_STATEMENT_TIMEOUT_MS: intFromEnv(5000, 0),
  /** Where job events are POSTed (CONTRACT §9); needs WEBHOOK_SECRET. Unset: no webhooks. */
  WEBHOOK_URL: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  /** The Standard Webhooks signing secret, `whsec_<base64 of 24-64 random bytes>`. */
  WEBHOOK_SECRET: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      try {
        return parseWebhookSecret(v.trim());
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  /** One delivery attempt gets this long for the receiver's answer, then counts as failed. */
  WEBHOOK_TIMEOUT_MS: intFromEnv(10_000, 100, 120_000),
  /** First retry delay; each next one doubles (capped at 1 h), for at least 24 h in all. */
  WEBHOOK_RETRY_DELAY_SECONDS: intFromEnv(10, 1, 3600),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Worker-only processes: serve /metrics and /readyz on HOST:METRICS_PORT (the API serves them itself). */
  METRICS_PORT: z.coerce
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .min(0, 'must be at least 0')
    .max(65535, 'must be at most 65535')
    .optional(),
  /** A resumable upload (tus, /api/uploads) not finished this many hours after its creation is discarded. */
  RESUMABLE_UPLOAD_TTL_HOURS: intFromEnv(24, 1, 24 * 30),
  /** FILE_STORE=s3 (CONTRACT §8): the bucket, required then; credentials come from the AWS SDK's chain. */
  S3_BUCKET: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
      'must be an S3 bucket name (3–63 lower-case letters, digits, dots, hyphens)',
    )
    .optional(),
  /** Every object's key starts with it; the sweep deletes only orphans under it. */
  S3_PREFIX: z.string().max(512, 'must be at most 512 characters').default('tally/'),
  /** An S3-compatible server's URL (MinIO, R2, fauxqs); unset = AWS. */
  S3_ENDPOINT: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  S3_REGION: z
    .string()
    .regex(/^[a-z0-9-]{2,40}$/, 'must be a region name such as eu-central-1')
    .optional(),
  /** Path-style URLs (endpoint/bucket/key), which most S3-compatible servers need. */
  S3_FORCE_PATH_STYLE: z
    .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
});

export type Config = Readonly<z.output<typeof envSchema>>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means unset (compose files write `${VAR:-}`), not an invalid value.
  const present = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const config = parsed.data;
  if (!isLoopback(config.HOST) && !config.API_TOKENS && !config.TOKEN_SIGNING_KEYS) {
    throw new ConfigError(
      `Invalid configuration:\n  API_TOKENS: required when HOST (${config.HOST}) is not a loopback address; ` +
        'set API_TOKENS=owner:token[,owner:token…] (or TOKEN_SIGNING_KEYS for browser tokens) or listen on 127.0.0.1',
    );
  }
  if (config.FILE_STORE === 's3' && config.S3_BUCKET === undefined) {
    throw new ConfigError(
      'Invalid configuration:\n  S3_BUCKET: required when FILE_STORE=s3 (the bucket uploaded files are stored in)',
    );
  }
  if (config.LONG_POLLS_MAX >= config.MAX_CONNECTIONS) {
    throw new ConfigError(
      `Invalid configuration:\n  LONG_POLLS_MAX: must be below MAX_CONNECTIONS (${config.MAX_CONNECTIONS}), ` +
        'or long polls alone could take every connection',
    );
  }
  if ((config.WEBHOOK_URL === undefined) !== (config.WEBHOOK_SECRET === undefined)) {
    throw new ConfigError(
      `Invalid configuration:\n  ${config.WEBHOOK_URL === undefined ? 'WEBHOOK_URL' : 'WEBHOOK_SECRET'}: ` +
        'required when the other is set (webhooks need both a URL and a whsec_ secret)',
    );
  }
  if (config.WATCH_STREAMS_MAX >= config.MAX_CONNECTIONS) {
    throw new ConfigError(
      `Invalid configuration:\n  WATCH_STREAMS_MAX: must be below MAX_CONNECTIONS (${config.MAX_CONNECTIONS}), ` +
        'or status streams alone could take every connection',
    );
  }
  return Object.freeze(config);
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
