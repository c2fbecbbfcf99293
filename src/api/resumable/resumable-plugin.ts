import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { PgBoss } from 'pg-boss';
import type { Db } from '../../db/database.ts';
import { TallyError } from '../../errors.ts';
import type { StoredFiles } from '../../files/stored-files.ts';
import type { Authenticate } from '../auth.ts';
import { registerAppendRoute } from './append-route.ts';
import { registerCreateRoute } from './create-route.ts';
import { registerOffsetRoute } from './offset-route.ts';
import { registerTerminateRoute } from './terminate-route.ts';
import { requireTusVersion, TUS_VERSION } from './tus-protocol.ts';
import type { ResumableUploadLimits, UploadRouteDeps } from './upload-routes.ts';

export type { ResumableUploadLimits } from './upload-routes.ts';

export interface ResumableUploadsOptions {
  db: Db;
  boss: PgBoss;
  files: StoredFiles;
  authenticate: Authenticate;
  limits: ResumableUploadLimits;
}

/**
 * /api/uploads: resumable uploads, tus 1.0.0 core with creation, expiration and termination
 * (docs/reference.md, "`/api/uploads` — resumable"), as an encapsulated Fastify plugin: the
 * server's hooks (drain, connection bounds, CORS, error shape) apply as to every route, and
 * its own (tus version, auth, rate limit) stay here.
 *
 * Written over the stored-bytes seam rather than by mounting @tus/server: that server
 * handles the raw request itself (Fastify's hooks and error shape would not see it), keeps
 * its lock in one process (an upload could not continue on another API host), and its
 * stores keep their own state in files or objects; here an upload is a staging of the seam
 * (`suspend`/`resume` on any host), and PostgreSQL holds the upload's row and lease.
 *
 *   POST   → 201, Location                  (create-route.ts: a staging, suspended until the TTL)
 *   HEAD   → Upload-Offset [, Tally-Job-Id]  (offset-route.ts)
 *   PATCH  → 204, Upload-Offset; the last one also Tally-Job-Id (append-route.ts: the job exists)
 *   DELETE → 204                             (terminate-route.ts: the staging is discarded)
 * OPTIONS is a CORS preflight only (src/api/cors.ts, with CORS_ORIGINS set): tus's optional
 * discovery request is not served, and the stock clients do not send it.
 */
export async function resumableUploadsPlugin(
  app: FastifyInstance,
  opts: ResumableUploadsOptions,
): Promise<void> {
  const { limits } = opts;
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
  const deps: UploadRouteDeps = {
    db: opts.db,
    boss: opts.boss,
    files: opts.files,
    limits,
    ownerOf: (request) => owners.get(request)!,
  };
  const uploadRate = {
    max: limits.ratePerMinute,
    timeWindow: 60_000,
    keyGenerator: (request: FastifyRequest) => `owner:${owners.get(request) ?? request.ip}`,
    errorResponseBuilder: (_req: unknown, ctx: { after: string }) =>
      new TallyError('RATE_LIMITED', `Too many uploads; try again in ${ctx.after}.`),
  };

  registerCreateRoute(app, deps, { rateLimit: uploadRate });
  registerOffsetRoute(app, deps);
  registerAppendRoute(app, deps);
  registerTerminateRoute(app, deps);
}
