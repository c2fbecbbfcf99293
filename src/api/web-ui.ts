import { existsSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';

/**
 * Serves the built web UI (src/web, built by Vite into src/web/dist) at `/` and for
 * client-side routes such as `/jobs/<id>`.
 */
export const webDistDir = path.join(import.meta.dirname, '..', 'web', 'dist');

/**
 * The page keeps its API token in localStorage, so script injection or a framing site
 * would reach it. The policy allows what the built page is and nothing else: its own
 * module script and stylesheet, calls to its own origin, the inline SVG favicon (data:).
 * No 'unsafe-inline' for scripts or styles: Vite emits no inline script, and React sets
 * style props through the CSSOM, which a style-src policy does not govern
 * (test/browser/web-ui.test.ts collects every violation while the page is driven).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const WEB_UI_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  // Frame protection for browsers that predate frame-ancestors.
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  // Job ids are in the page's URLs; other sites need not learn them.
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

/** Registered encapsulated: the headers apply to the page's routes, not to the API's. */
export async function webUiPlugin(app: FastifyInstance): Promise<void> {
  await app.register(async (scope) => {
    scope.addHook('onSend', async (_req, reply) => {
      void reply.headers(WEB_UI_HEADERS);
    });
    if (!existsSync(path.join(webDistDir, 'index.html'))) {
      scope.get('/', async (_req, reply) =>
        reply
          .type('text/plain')
          .send('Tally API is running. The web UI is not built: run `npm run build:web`.\n'),
      );
      return;
    }
    const { default: fastifyStatic } = await import('@fastify/static');
    await scope.register(fastifyStatic, { root: webDistDir, wildcard: false });
    scope.get('/jobs/:id', (_req, reply) => reply.sendFile('index.html'));
  });
}
