import { promises as fs } from 'node:fs';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { PgBoss } from 'pg-boss';
import { jobOptionsSchema, type JobOptions } from '../../analysis/options.ts';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import { TallyError } from '../../errors.ts';
import type { Authenticate } from '../auth.ts';
import { observeUpload } from '../../observability/metrics.ts';
import { recordUpload } from './record-upload.ts';
import { sniffUpload } from './sniff-upload.ts';
import { spoolUpload } from './spool-upload.ts';

export interface UploadRouteDeps {
  db: Db;
  boss: PgBoss;
  config: Pick<
    Config,
    | 'MAX_UPLOAD_BYTES'
    | 'SPOOL_DIR'
    | 'UPLOAD_IDLE_TIMEOUT_MS'
    | 'UPLOAD_MIN_BYTES_PER_SECOND'
    | 'UPLOAD_RATE_GRACE_MS'
    | 'UPLOAD_RATE_LIMIT_PER_MINUTE'
  >;
  authenticate: Authenticate;
  /** Whether new uploads are taken (false while shutting down). */
  accepting: () => boolean;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

/** POST /api/jobs: multipart upload → spooled temp file → one transaction → 202. */
export async function registerUploadRoute(app: FastifyInstance, deps: UploadRouteDeps): Promise<void> {
  // Leave multipart bodies unread: busboy streams them in the handler.
  app.addContentTypeParser('multipart/form-data', (_req, _payload, done) => done(null, undefined));
  // Per owner, not per IP: many users may share one NAT, and one token may upload from many hosts.
  await app.register(rateLimit, { global: false });
  const ownerOrIp = async (request: { headers: { authorization?: string | undefined }; ip: string }) => {
    try {
      return `owner:${await deps.authenticate(request.headers.authorization, { scope: 'upload' })}`;
    } catch {
      return `ip:${request.ip}`;
    }
  };

  const rateLimitConfig = {
    max: deps.config.UPLOAD_RATE_LIMIT_PER_MINUTE,
    timeWindow: 60_000,
    keyGenerator: ownerOrIp,
    errorResponseBuilder: (_req: unknown, ctx: { after: string }) =>
      new TallyError('RATE_LIMITED', `Too many uploads; try again in ${ctx.after}.`),
  };
  app.post('/api/jobs', { config: { rateLimit: rateLimitConfig } }, async (request, reply) => {
    if (!deps.accepting()) {
      throw new TallyError(
        'SERVICE_UNAVAILABLE',
        'The server is shutting down; retry the upload in a moment.',
      );
    }
    const owner = await deps.authenticate(request.headers.authorization, { scope: 'upload' });
    const contentType = request.headers['content-type'] ?? '';
    if (!/^multipart\/form-data\s*;/i.test(contentType)) {
      throw new TallyError(
        'UNSUPPORTED_MEDIA_TYPE',
        'Send the upload as multipart/form-data with the CSV in a part named "file".',
      );
    }
    const keyHeader = request.headers['idempotency-key'];
    const idempotencyKey = typeof keyHeader === 'string' ? keyHeader : undefined;
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new TallyError('BAD_REQUEST', 'Idempotency-Key must be 1–200 visible ASCII characters.');
    }

    const spooled = await spoolUpload(request.raw, request.headers, deps.config.SPOOL_DIR, {
      maxFileBytes: deps.config.MAX_UPLOAD_BYTES,
      idleTimeoutMs: deps.config.UPLOAD_IDLE_TIMEOUT_MS,
      minBytesPerSecond: deps.config.UPLOAD_MIN_BYTES_PER_SECOND,
      rateGraceMs: deps.config.UPLOAD_RATE_GRACE_MS,
    });
    try {
      const options = parseOptions(spooled.optionsText);
      const sniffed = await sniffUpload(spooled.head, options);
      const recorded = await recordUpload(deps, {
        owner,
        idempotencyKey,
        spooled,
        sniffed,
        options,
        requestId: request.id,
      });
      observeUpload(spooled.bytes, recorded.created);
      request.log.info(
        {
          jobId: recorded.jobId,
          bytes: spooled.bytes,
          created: recorded.created,
          compression: sniffed.compression,
        },
        recorded.created ? 'upload accepted' : 'upload matched an earlier Idempotency-Key',
      );
      return await reply
        .code(recorded.created ? 202 : 200)
        .send({ jobId: recorded.jobId, state: recorded.state });
    } finally {
      await fs.rm(spooled.path, { force: true });
    }
  });
}

function parseOptions(text: string | undefined): JobOptions {
  if (text === undefined || text.trim() === '') return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new TallyError('BAD_REQUEST', 'The options part is not valid JSON.');
  }
  const parsed = jobOptionsSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`);
    throw new TallyError('BAD_REQUEST', `The options are not valid: ${issues.join('; ')}.`, { issues });
  }
  return parsed.data;
}
