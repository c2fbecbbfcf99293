import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PgBoss } from 'pg-boss';
import type { Db } from '../../db/database.ts';
import { TallyError } from '../../errors.ts';
import type { Staging, StoredFiles } from '../../files/stored-files.ts';
import { formatBytes } from '../../lib/format-bytes.ts';
import type { Authenticate } from '../auth.ts';
import { appendBody } from './append-body.ts';
import { completeUpload } from './complete-upload.ts';
import {
  deleteResumableUpload,
  findResumableUpload,
  insertResumableUpload,
  releaseLease,
  renewLease,
  takeLease,
  type ResumableUpload,
} from '../../db/jobs/resumable-uploads.ts';
import {
  httpDate,
  integerHeader,
  OFFSET_CONTENT_TYPE,
  parseUploadMetadata,
  requireTusVersion,
  TUS_EXTENSIONS,
  TUS_VERSION,
} from './tus-protocol.ts';

export interface ResumableUploadsOptions {
  db: Db;
  boss: PgBoss;
  files: StoredFiles;
  authenticate: Authenticate;
  limits: ResumableUploadLimits;
}

/** The resumable route's settings, translated from the configuration in src/roles/api-role.ts. */
export interface ResumableUploadLimits {
  /** MAX_UPLOAD_BYTES */
  maxUploadBytes: number;
  /** UPLOAD_IDLE_TIMEOUT_MS */
  idleTimeoutMs: number;
  /** UPLOAD_RATE_LIMIT_PER_MINUTE */
  ratePerMinute: number;
  /** UPLOAD_STAGING_LEASE_MS */
  stagingLeaseMs: number;
  /** RESUMABLE_UPLOAD_TTL_HOURS */
  ttlHours: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * /api/uploads: resumable uploads, tus 1.0.0 core with creation, expiration and termination
 * (CONTRACT §2.2), as an encapsulated Fastify plugin: the server's hooks (drain, connection
 * bounds, CORS, error shape) apply as to every route, and its own (tus version, auth, rate
 * limit) stay here.
 *
 * Written over the stored-bytes seam rather than by mounting @tus/server: that server
 * handles the raw request itself (Fastify's hooks and error shape would not see it), keeps
 * its lock in one process (an upload could not continue on another API host), and its
 * stores keep their own state in files or objects; here an upload is a staging of the seam
 * (`suspend`/`resume` on any host), and PostgreSQL holds the upload's row and lease.
 *
 *   POST   → 201, Location                  (a staging, suspended until the TTL)
 *   HEAD   → Upload-Offset [, Tally-Job-Id]
 *   PATCH  → 204, Upload-Offset; the last one also Tally-Job-Id (the job exists)
 *   DELETE → 204                             (the staging is discarded)
 */
export async function resumableUploadsPlugin(
  app: FastifyInstance,
  opts: ResumableUploadsOptions,
): Promise<void> {
  const { db, limits } = opts;
  const leaseMs = limits.stagingLeaseMs;

  // PATCH bodies stream into the staging; nothing is parsed by Fastify here.
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
  // Tus-Resumable on every answer, refusals included (tus 1.0.0 requires it).
  app.addHook('onSend', async (_request, reply) => {
    void reply.header('tus-resumable', TUS_VERSION);
  });

  await app.register(rateLimit, { global: false });
  const owners = new WeakMap<FastifyRequest, string>();
  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'OPTIONS') {
      try {
        requireTusVersion(request.headers['tus-resumable']);
      } catch (error) {
        void reply.header('tus-version', TUS_VERSION);
        throw error;
      }
    }
    owners.set(request, await opts.authenticate(request.headers.authorization, { scope: 'upload' }));
  });
  const ownerOf = (request: FastifyRequest) => owners.get(request)!;
  const uploadRate = {
    max: limits.ratePerMinute,
    timeWindow: 60_000,
    keyGenerator: (request: FastifyRequest) => `owner:${owners.get(request) ?? request.ip}`,
    errorResponseBuilder: (_req: unknown, ctx: { after: string }) =>
      new TallyError('RATE_LIMITED', `Too many uploads; try again in ${ctx.after}.`),
  };

  app.post('/api/uploads', { config: { rateLimit: uploadRate } }, async (request, reply) => {
    if (request.headers['upload-defer-length'] !== undefined) {
      throw new TallyError('BAD_REQUEST', 'Upload-Defer-Length is not supported: send Upload-Length.');
    }
    const length = integerHeader('Upload-Length', request.headers['upload-length']);
    if (length > limits.maxUploadBytes) {
      throw new TallyError(
        'FILE_TOO_LARGE',
        `The file is larger than the ${formatBytes(limits.maxUploadBytes)} upload limit.`,
        { maxBytes: limits.maxUploadBytes },
      );
    }
    if (length === 0) throw new TallyError('INVALID_CSV', 'The file is empty.');
    const metadata = parseUploadMetadata(request.headers['upload-metadata']);
    const expiresAt = new Date(Date.now() + limits.ttlHours * 3_600_000);
    const staging = opts.files.stage({ keepUntil: expiresAt, log: request.log });
    try {
      // Committed now, so that the first PATCH may land on any host.
      await staging.suspend(expiresAt);
      await insertResumableUpload(db.kysely, {
        id: staging.id,
        owner: ownerOf(request),
        uploadLength: length,
        filename: metadata.filename,
        optionsText: metadata.optionsText,
        idempotencyKey: metadata.idempotencyKey,
        expiresAt,
      });
    } catch (error) {
      await staging.discard();
      throw error;
    }
    request.log.info({ uploadId: staging.id, bytes: length }, 'resumable upload created');
    return reply
      .code(201)
      .header('location', `/api/uploads/${staging.id}`)
      .header('upload-expires', httpDate(expiresAt))
      .header('tus-max-size', String(limits.maxUploadBytes))
      .header('tus-extension', TUS_EXTENSIONS)
      .send();
  });

  app.head<{ Params: { id: string } }>('/api/uploads/:id', async (request, reply) => {
    const upload = await findOwned(request);
    void reply
      .header('cache-control', 'no-store')
      .header('upload-offset', String(upload.uploadOffset))
      .header('upload-length', String(upload.uploadLength))
      .header('upload-expires', httpDate(upload.expiresAt));
    if (upload.jobId !== null) void reply.header('tally-job-id', upload.jobId);
    return reply.code(200).send();
  });

  app.patch<{ Params: { id: string } }>('/api/uploads/:id', async (request, reply) => {
    // A refused PATCH's body is unread: close rather than read what nobody wants.
    void reply.header('connection', 'close');
    if (!(request.headers['content-type'] ?? '').toLowerCase().startsWith(OFFSET_CONTENT_TYPE)) {
      throw new TallyError('UNSUPPORTED_MEDIA_TYPE', `Send PATCH bodies as ${OFFSET_CONTENT_TYPE}.`);
    }
    const offset = integerHeader('Upload-Offset', request.headers['upload-offset']);
    const token = randomUUID();
    const upload = await takeLease(db.kysely, uploadId(request), ownerOf(request), token, leaseMs);
    if (!upload) return answerWithoutLease(request, reply, offset);

    let committed = upload.uploadOffset;
    let released = false;
    const renewal = setInterval(() => {
      renewLease(db.kysely, upload.id, token, leaseMs).then(
        (held) => {
          if (!held) request.raw.destroy(lostLease());
        },
        () => undefined, // a busy database: the next renewal may succeed before the lease ends
      );
    }, leaseMs / 3);
    let jobId: string | undefined;
    // The answer goes out only after the lease is given back with the new offset: a client
    // that resumes on another host at once must find it there (HEAD) and may write (no 423).
    try {
      if (offset !== upload.uploadOffset) throw offsetMismatch(upload.uploadOffset);
      const staging = await opts.files.resume(upload.id, { keepUntil: upload.expiresAt, log: request.log });
      if (staging.offset !== upload.uploadOffset) {
        // Bytes committed by a PATCH whose host died before it could say so: the staging is right.
        committed = staging.offset;
        await staging.suspend(upload.expiresAt);
        throw offsetMismatch(staging.offset);
      }
      // The request's own stream: nothing parsed the body.
      const body = await appendOrForget(request.raw, upload, staging);
      if (staging.offset === upload.uploadLength && body.interruption === undefined) {
        released = true; // the job's transaction clears the lease, or the row is gone
        const done = await completeUpload(opts, upload, staging, request.id);
        request.log.info(
          { uploadId: upload.id, jobId: done.jobId, created: done.created },
          done.created ? 'resumable upload completed' : 'resumable upload matched an earlier idempotencyKey',
        );
        jobId = done.jobId;
        committed = upload.uploadLength;
      } else {
        await staging.suspend(upload.expiresAt);
        committed = staging.offset;
        if (body.interruption) throw body.interruption;
      }
    } finally {
      clearInterval(renewal);
      if (!released) await releaseLease(db.kysely, upload.id, token, committed).catch(() => undefined);
    }
    void reply.removeHeader('connection').code(204).header('upload-offset', String(committed));
    if (jobId !== undefined) return reply.header('tally-job-id', jobId).send();
    return reply.header('upload-expires', httpDate(upload.expiresAt)).send();
  });

  app.delete<{ Params: { id: string } }>('/api/uploads/:id', async (request, reply) => {
    const token = randomUUID();
    const upload = await takeLease(db.kysely, uploadId(request), ownerOf(request), token, leaseMs);
    if (!upload) {
      const existing = await findOwned(request);
      if (existing.locked) throw locked();
      // Completed: the bytes are the job's; only the upload's record goes.
      await deleteResumableUpload(db.kysely, existing.id);
      return reply.code(204).send();
    }
    const staging = await opts.files.resume(upload.id).catch(() => undefined);
    await staging?.discard();
    await deleteResumableUpload(db.kysely, upload.id);
    request.log.info({ uploadId: upload.id }, 'resumable upload terminated');
    return reply.code(204).send();
  });

  /** A write the staging refused (it was swept, a commit failed): the upload cannot go on. */
  async function appendOrForget(body: Readable, upload: ResumableUpload, staging: Staging) {
    try {
      return await appendBody(body, staging, {
        uploadLength: upload.uploadLength,
        idleTimeoutMs: limits.idleTimeoutMs,
      });
    } catch (error) {
      await staging.discard();
      await deleteResumableUpload(db.kysely, upload.id).catch(() => undefined);
      throw error;
    }
  }

  async function findOwned(request: FastifyRequest<{ Params: { id: string } }>): Promise<ResumableUpload> {
    const upload = await findResumableUpload(db.kysely, uploadId(request), ownerOf(request));
    if (!upload) throw notFound();
    return upload;
  }

  /** No lease: unknown (404), completed (its job, again), or another request writes it (423). */
  async function answerWithoutLease(
    request: FastifyRequest<{ Params: { id: string } }>,
    reply: FastifyReply,
    offset: number,
  ) {
    const upload = await findOwned(request);
    if (upload.jobId !== null) {
      if (offset !== upload.uploadLength) throw offsetMismatch(upload.uploadLength);
      void reply.removeHeader('connection');
      return reply
        .code(204)
        .header('upload-offset', String(upload.uploadLength))
        .header('tally-job-id', upload.jobId)
        .send();
    }
    throw locked();
  }
}

function uploadId(request: FastifyRequest<{ Params: { id: string } }>): string {
  const { id } = request.params;
  if (!UUID.test(id)) throw notFound();
  return id.toLowerCase();
}

function notFound(): TallyError {
  return new TallyError('NOT_FOUND', 'No such upload (it finished long ago, expired, or never existed).');
}

function locked(): TallyError {
  return new TallyError(
    'UPLOAD_LOCKED',
    'Another request is writing this upload; retry in a moment.',
    undefined,
    { retryAfterSeconds: 1 },
  );
}

function lostLease(): TallyError {
  return new TallyError('SERVICE_UNAVAILABLE', 'This upload was taken over by another request; resume it.');
}

function offsetMismatch(expected: number): TallyError {
  return new TallyError(
    'UPLOAD_OFFSET_MISMATCH',
    `Upload-Offset must be ${expected}, the bytes stored so far; HEAD the upload and resume from there.`,
    { uploadOffset: expected },
  );
}
