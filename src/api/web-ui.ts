import { existsSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';

/**
 * Serves the built web UI (src/web, built by Vite into src/web/dist) at `/` and for
 * client-side routes such as `/jobs/<id>`.
 */
export const webDistDir = path.join(import.meta.dirname, '..', 'web', 'dist');

export async function webUiPlugin(app: FastifyInstance): Promise<void> {
  if (!existsSync(path.join(webDistDir, 'index.html'))) {
    app.get('/', async (_req, reply) =>
      reply
        .type('text/plain')
        .send('Tally API is running. The web UI is not built: run `npm run build:web`.\n'),
    );
    return;
  }
  const { default: fastifyStatic } = await import('@fastify/static');
  await app.register(fastifyStatic, { root: webDistDir, wildcard: false });
  app.get('/jobs/:id', (_req, reply) => reply.sendFile('index.html'));
}
