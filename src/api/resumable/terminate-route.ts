import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { deleteResumableUpload, takeLease } from '../../db/jobs/resumable-uploads.ts';
import { findOwned, locked, uploadId, type UploadRouteDeps } from './upload-routes.ts';

/**
 * DELETE /api/uploads/:id → 204: an unfinished upload's bytes are discarded; a completed
 * one's belong to its job, and only the upload's record goes (docs/reference.md,
 * "`/api/uploads` — resumable", tus termination).
 */
export function registerTerminateRoute(app: FastifyInstance, deps: UploadRouteDeps): void {
  const { db } = deps;
  app.delete<{ Params: { id: string } }>('/api/uploads/:id', async (request, reply) => {
    const token = randomUUID();
    const owner = deps.ownerOf(request);
    const upload = await takeLease(db.kysely, uploadId(request), owner, token, deps.limits.stagingLeaseMs);
    if (!upload) {
      const existing = await findOwned(deps, request);
      if (existing.locked) throw locked();
      // Completed: the bytes are the job's; only the upload's record goes.
      await deleteResumableUpload(db.kysely, existing.id);
      return reply.code(204).send();
    }
    const staging = await deps.files.resume(upload.id).catch(() => undefined);
    await staging?.discard();
    await deleteResumableUpload(db.kysely, upload.id);
    request.log.info({ uploadId: upload.id }, 'resumable upload terminated');
    return reply.code(204).send();
  });
}
