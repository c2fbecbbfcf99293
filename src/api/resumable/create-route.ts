import type { FastifyInstance } from 'fastify';
import { insertResumableUpload } from '../../db/jobs/resumable-uploads.ts';
import { TallyError } from '../../errors.ts';
import { formatBytes } from '../../lib/format-bytes.ts';
import { httpDate, integerHeader, parseUploadMetadata, TUS_EXTENSIONS } from './tus-protocol.ts';
import type { UploadRouteDeps } from './upload-routes.ts';

/**
 * POST /api/uploads → 201 with Location (docs/reference.md, "`/api/uploads` — resumable"):
 * a staging of the stored-bytes seam, suspended until the upload's expiry, and its row.
 */
export function registerCreateRoute(
  app: FastifyInstance,
  deps: UploadRouteDeps,
  routeConfig: Record<string, unknown>,
): void {
  const { limits } = deps;
  app.post('/api/uploads', { config: routeConfig }, async (request, reply) => {
    const length = uploadLength(request.headers, limits.maxUploadBytes);
    const metadata = parseUploadMetadata(request.headers['upload-metadata']);
    const expiresAt = new Date(Date.now() + limits.ttlHours * 3_600_000);
    const staging = deps.files.stage({ keepUntil: expiresAt, log: request.log });
    try {
      // Committed now, so that the first PATCH may land on any host.
      await staging.suspend(expiresAt);
      await insertResumableUpload(deps.db.kysely, {
        id: staging.id,
        owner: deps.ownerOf(request),
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
}

/** Upload-Length, within MAX_UPLOAD_BYTES and not 0; a deferred length is refused. */
function uploadLength(headers: Record<string, string | string[] | undefined>, maxBytes: number): number {
  if (headers['upload-defer-length'] !== undefined) {
    throw new TallyError('BAD_REQUEST', 'Upload-Defer-Length is not supported: send Upload-Length.');
  }
  const length = integerHeader('Upload-Length', headers['upload-length']);
  if (length > maxBytes) {
    throw new TallyError(
      'FILE_TOO_LARGE',
      `The file is larger than the ${formatBytes(maxBytes)} upload limit.`,
      {
        maxBytes,
      },
    );
  }
  if (length === 0) throw new TallyError('INVALID_CSV', 'The file is empty.');
  return length;
}
