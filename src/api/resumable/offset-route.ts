import type { FastifyInstance } from 'fastify';
import { httpDate } from './tus-protocol.ts';
import { findOwned, type UploadRouteDeps } from './upload-routes.ts';

/**
 * HEAD /api/uploads/:id → the server's Upload-Offset, where a client resumes after a dropped
 * connection, and Tally-Job-Id once the upload made its job (docs/reference.md,
 * "`/api/uploads` — resumable").
 */
export function registerOffsetRoute(app: FastifyInstance, deps: UploadRouteDeps): void {
  app.head<{ Params: { id: string } }>('/api/uploads/:id', async (request, reply) => {
    const upload = await findOwned(deps, request);
    void reply
      .header('cache-control', 'no-store')
      .header('upload-offset', String(upload.uploadOffset))
      .header('upload-length', String(upload.uploadLength))
      .header('upload-expires', httpDate(upload.expiresAt));
    if (upload.jobId !== null) void reply.header('tally-job-id', upload.jobId);
    return reply.code(200).send();
  });
}
