import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  deleteResumableUpload,
  releaseLease,
  renewLease,
  takeLease,
  type ResumableUpload,
} from '../../db/jobs/resumable-uploads.ts';
import { TallyError } from '../../errors.ts';
import type { Staging } from '../../files/stored-files.ts';
import { appendBody, type AppendOutcome } from './append-body.ts';
import { completeUpload } from './complete-upload.ts';
import { httpDate, integerHeader, OFFSET_CONTENT_TYPE } from './tus-protocol.ts';
import {
  findOwned,
  locked,
  lostLease,
  offsetMismatch,
  uploadId,
  type UploadRequest,
  type UploadRouteDeps,
} from './upload-routes.ts';

/** Where a PATCH under the lease stands: what the lease gives back, even when the PATCH fails. */
interface LeaseProgress {
  /** The offset stored so far, written into the row when the lease is given back. */
  committed: number;
  /** The job's transaction cleared the lease (or the row is gone): nothing to give back. */
  released: boolean;
}

/**
 * PATCH /api/uploads/:id → 204 with the new Upload-Offset; the PATCH that writes the last
 * byte also answers Tally-Job-Id, and from then on the job exists (docs/reference.md,
 * "`/api/uploads` — resumable"). One request writes an upload at a time: it holds the row's
 * lease (src/db/jobs/resumable-uploads.ts), so another host may continue the upload next.
 */
export function registerAppendRoute(app: FastifyInstance, deps: UploadRouteDeps): void {
  app.patch<{ Params: { id: string } }>('/api/uploads/:id', async (request, reply) => {
    // A refused PATCH's body is unread: close rather than read what nobody wants.
    void reply.header('connection', 'close');
    if (!(request.headers['content-type'] ?? '').toLowerCase().startsWith(OFFSET_CONTENT_TYPE)) {
      throw new TallyError('UNSUPPORTED_MEDIA_TYPE', `Send PATCH bodies as ${OFFSET_CONTENT_TYPE}.`);
    }
    const offset = integerHeader('Upload-Offset', request.headers['upload-offset']);
    const token = randomUUID();
    const { db, limits } = deps;
    const owner = deps.ownerOf(request);
    const upload = await takeLease(db.kysely, uploadId(request), owner, token, limits.stagingLeaseMs);
    if (!upload) return answerWithoutLease(deps, request, reply, offset);

    const progress: LeaseProgress = { committed: upload.uploadOffset, released: false };
    const renewal = keepLease(deps, request, upload.id, token);
    let jobId: string | undefined;
    // The answer goes out only after the lease is given back with the new offset: a client
    // that resumes on another host at once must find it there (HEAD) and may write (no 423).
    try {
      jobId = await appendUnderLease(deps, request, upload, offset, progress);
    } finally {
      clearInterval(renewal);
      if (!progress.released) {
        await releaseLease(db.kysely, upload.id, token, progress.committed).catch(() => undefined);
      }
    }
    void reply.removeHeader('connection').code(204).header('upload-offset', String(progress.committed));
    if (jobId !== undefined) return reply.header('tally-job-id', jobId).send();
    return reply.header('upload-expires', httpDate(upload.expiresAt)).send();
  });
}

/** Renews the lease while the PATCH streams; a lease lost to another request ends this one. */
function keepLease(deps: UploadRouteDeps, request: UploadRequest, id: string, token: string): NodeJS.Timeout {
  const leaseMs = deps.limits.stagingLeaseMs;
  return setInterval(() => {
    renewLease(deps.db.kysely, id, token, leaseMs).then(
      (held) => {
        if (!held) request.raw.destroy(lostLease());
      },
      () => undefined, // a busy database: the next renewal may succeed before the lease ends
    );
  }, leaseMs / 3);
}

/**
 * Appends the body at `offset` and, when it was the last byte, makes the job. Returns the
 * job's id, or undefined while bytes are missing; `progress` is kept current even when this
 * throws (an offset mismatch, a cut-off body), so the lease goes back with the right offset.
 */
async function appendUnderLease(
  deps: UploadRouteDeps,
  request: UploadRequest,
  upload: ResumableUpload,
  offset: number,
  progress: LeaseProgress,
): Promise<string | undefined> {
  if (offset !== upload.uploadOffset) throw offsetMismatch(upload.uploadOffset);
  const staging = await deps.files.resume(upload.id, { keepUntil: upload.expiresAt, log: request.log });
  if (staging.offset !== upload.uploadOffset) {
    // Bytes committed by a PATCH whose host died before it could say so: the staging is right.
    progress.committed = staging.offset;
    await staging.suspend(upload.expiresAt);
    throw offsetMismatch(staging.offset);
  }
  // The request's own stream: nothing parsed the body.
  const body = await appendOrForget(deps, request.raw, upload, staging);
  if (staging.offset === upload.uploadLength && body.interruption === undefined) {
    progress.released = true; // the job's transaction clears the lease, or the row is gone
    const done = await completeUpload(deps, upload, staging, request.id);
    request.log.info(
      { uploadId: upload.id, jobId: done.jobId, created: done.created },
      done.created ? 'resumable upload completed' : 'resumable upload matched an earlier idempotencyKey',
    );
    progress.committed = upload.uploadLength;
    return done.jobId;
  }
  await staging.suspend(upload.expiresAt);
  progress.committed = staging.offset;
  if (body.interruption) throw body.interruption;
  return undefined;
}

/** A write the staging refused (it was swept, a commit failed): the upload cannot go on. */
async function appendOrForget(
  deps: UploadRouteDeps,
  body: Readable,
  upload: ResumableUpload,
  staging: Staging,
): Promise<AppendOutcome> {
  try {
    return await appendBody(body, staging, {
      uploadLength: upload.uploadLength,
      idleTimeoutMs: deps.limits.idleTimeoutMs,
    });
  } catch (error) {
    await staging.discard();
    await deleteResumableUpload(deps.db.kysely, upload.id).catch(() => undefined);
    throw error;
  }
}

/** No lease: unknown (404), completed (its job, again), or another request writes it (423). */
async function answerWithoutLease(
  deps: UploadRouteDeps,
  request: UploadRequest,
  reply: FastifyReply,
  offset: number,
): Promise<FastifyReply> {
  const upload = await findOwned(deps, request);
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
