import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { TallyError } from '../errors.ts';

/**
 * Auth-off mode (loopback, no API_TOKENS or signing keys) serves the person at this
 * machine, not every web page their browser opens. A page on evil.example can still make
 * the browser send requests to 127.0.0.1:3000: a cross-site form POST (a "simple" request,
 * no preflight: it made a job before this guard), or, after DNS rebinding, same-origin
 * reads under its own host name (`Host: evil.example:3000`, which listed every job).
 * Auth-off mode (docs/reference.md, "Security"): only requests that
 *   - name a loopback host (`localhost`, 127.0.0.0/8, [::1]) with the port they arrived on,
 *     which a rebinding page cannot forge: its Host is its own name;
 *   - and are not cross-site: `Origin` absent or this server's own (http, loopback host,
 *     the same port), `Sec-Fetch-Site` absent, `same-origin` or `none` (typed URL, bookmark)
 * are served; everything else gets 403 FORBIDDEN in the contract's shape (tRPC's on /trpc).
 * Requests without these headers (curl, scripts, the Node client) pass: only browsers
 * send them, and browsers do not let a page forge them.
 *
 * `same-site` is refused too: another port of localhost (a dev server, any local app) is
 * same-site but not Tally. The Vite dev proxy therefore rewrites Host and drops Origin.
 */
export const localModeGuard = fp(
  (app: FastifyInstance) => {
    app.addHook('onRequest', (request, _reply, done) => {
      const refusal = refuse(request);
      if (refusal === undefined) return done();
      request.log.warn({ reason: refusal }, 'auth-off mode: refused a request that is not from this machine');
      done(
        new TallyError(
          'FORBIDDEN',
          `This Tally runs without auth (loopback only) and serves only its own pages and local tools: ${refusal}. ` +
            'Open it at http://localhost:<port>/ or http://127.0.0.1:<port>/, or configure API_TOKENS.',
        ),
      );
    });
  },
  { name: 'tally-local-mode-guard' },
);

/** Why this request is refused, or undefined when it may be served. */
function refuse(request: FastifyRequest): string | undefined {
  const port = request.raw.socket.localPort;
  const host = request.headers.host;
  if (host === undefined || !isLoopbackAuthority(host, port))
    return 'the Host header does not name a loopback address with this server’s port';
  const origin = request.headers.origin;
  if (origin !== undefined && !isOwnOrigin(origin, port))
    return 'the request comes from another site (Origin)';
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none')
    return `the request comes from another site (Sec-Fetch-Site: ${String(site)})`;
  return undefined;
}

/** `localhost:3000`, `127.0.0.1:3000`, `[::1]:3000` (port 80 may be left out, as browsers do). */
function isLoopbackAuthority(authority: string, port: number | undefined): boolean {
  const match = /^(\[::1\]|localhost|127(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/i.exec(authority);
  if (!match) return false;
  const given = match[2] === undefined ? 80 : Number(match[2]);
  return (
    given === port &&
    (match[1]!.startsWith('[') || match[1]!.toLowerCase() === 'localhost' || octetsOk(match[1]!))
  );
}

function octetsOk(ipv4: string): boolean {
  return ipv4.split('.').every((o) => Number(o) <= 255 && !/^0\d/.test(o));
}

function isOwnOrigin(origin: string, port: number | undefined): boolean {
  const match = /^http:\/\/(.+)$/i.exec(origin);
  return match !== null && isLoopbackAuthority(match[1]!, port);
}
