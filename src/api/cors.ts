import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { TUS_REQUEST_HEADERS, TUS_RESPONSE_HEADERS } from './resumable/tus-protocol.ts';

/**
 * CORS for the API (`POST /api/jobs`, `/trpc`) from the exact origins in CORS_ORIGINS.
 * Tokens travel in `Authorization`, never in cookies, so credentials are off and no
 * answer ever carries a wildcard. A request from an origin not listed gets no CORS
 * header at all (its preflight is a 404), so the browser refuses it. With no origins
 * configured nothing is registered: same origin only. A root plugin (fastify-plugin),
 * registered before any route, so every route gets its hook.
 */
export const corsPlugin = fp(async (app: FastifyInstance, opts: { origins: readonly string[] }) => {
  if (opts.origins.length === 0) return;
  const allowed = new Set(opts.origins);
  await app.register(cors, {
    origin: (origin, callback) =>
      callback(null, origin !== undefined && allowed.has(origin) ? origin : false),
    // HEAD, PATCH and DELETE: resumable uploads (tus, /api/uploads).
    methods: ['GET', 'POST', 'HEAD', 'PATCH', 'DELETE'],
    // What the client sends: the token, the upload's Idempotency-Key, and JSON or
    // multipart bodies (content-type). Anything else is refused in the preflight.
    allowedHeaders: ['authorization', 'content-type', 'idempotency-key', ...TUS_REQUEST_HEADERS],
    // tus clients read Location, Upload-Offset and Tally-Job-Id: unexposed, a browser hides them.
    exposedHeaders: ['retry-after', ...TUS_RESPONSE_HEADERS],
    credentials: false,
    // Chromium caps the preflight cache at 2 h; 10 min keeps a config change quick to land.
    maxAge: 600,
    strictPreflight: true,
  });
});
