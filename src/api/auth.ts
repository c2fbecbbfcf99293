import { createHash, timingSafeEqual } from 'node:crypto';
import type { Scope } from '../auth/scopes.ts';
import type { SigningKey } from '../auth/signing-keys.ts';
import { createBrowserTokenVerifier, type Principal } from '../auth/verify-browser-token.ts';
import { TallyError } from '../errors.ts';

/** The owner every job gets when auth is off (server on loopback, no API_TOKENS or keys). */
export const LOCAL_OWNER = 'local';

/** What one request needs: a scope and, for calls about one job, that job's id. */
export interface Access {
  scope: Scope;
  /** The job the call is about; undefined for calls over all of the owner's jobs (upload, list). */
  jobId?: string | undefined;
}

/** Resolves `Authorization: Bearer …` to the owner, or throws 401 UNAUTHORIZED / 403 FORBIDDEN. */
export type Authenticate = (authorization: string | undefined, access: Access) => Promise<string>;

export interface AuthOptions {
  /** API_TOKENS: token → owner (server-to-server, every scope). */
  apiTokens?: ReadonlyMap<string, string> | undefined;
  /** TOKEN_SIGNING_KEYS: browser tokens (JWT, HS256) signed with any of these verify. */
  signingKeys?: readonly SigningKey[] | undefined;
  /** TOKEN_ISSUER: when set, browser tokens must carry it as `iss`. */
  issuer?: string | undefined;
  /** TOKEN_AUDIENCE: the `aud` browser tokens must name (default 'tally'). */
  audience?: string | undefined;
}

// Three base64url segments, the first a JSON header ("{" encodes to "ey"). The signature
// may be empty: an unsigned (`alg: none`) token must reach the verifier's algorithm
// pinning and be refused there, for what it is, not pass for a malformed API key.
const JWT_SHAPE = /^ey[\w-]+\.[\w-]+\.[\w-]*$/;

/**
 * Auth is on as soon as API keys or signing keys are configured. API keys are compared
 * as SHA-256 digests with timingSafeEqual against every known key, so the time taken
 * says nothing about which key or how much of it matched. A presented token that is no
 * API key but has a JWT's shape is verified as a browser token.
 */
export function createAuthenticator(opts: AuthOptions): Authenticate {
  const { apiTokens, signingKeys } = opts;
  if (!apiTokens && !signingKeys?.length) return () => Promise.resolve(LOCAL_OWNER);
  const known = [...(apiTokens ?? [])].map(([token, owner]) => ({ digest: sha256(token), owner }));
  const verify = signingKeys?.length
    ? createBrowserTokenVerifier(signingKeys, { issuer: opts.issuer, audience: opts.audience })
    : undefined;

  return async (authorization, access) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match?.[1]) {
      throw new TallyError(
        'UNAUTHORIZED',
        'Send an API key or a browser token as "Authorization: Bearer <token>".',
      );
    }
    const presented = match[1];
    const digest = sha256(presented);
    let owner: string | undefined;
    for (const k of known) if (timingSafeEqual(k.digest, digest)) owner = k.owner;
    if (owner !== undefined) return owner;
    if (!verify || !JWT_SHAPE.test(presented))
      throw new TallyError('UNAUTHORIZED', 'The API token is not valid.');
    const principal = await verify(presented);
    authorize(principal, access);
    return principal.owner;
  };
}

/**
 * A browser token may do only what its scopes (and job binding) say: else 403. A token
 * bound to one job is read-only on that job whatever its scopes (docs/reference.md, "Security"): it never
 * uploads, cancels or re-runs, so a token handed to one page cannot create jobs.
 */
export function authorize(principal: Principal, access: Access): void {
  if (!principal.scopes.has(access.scope)) {
    throw new TallyError(
      'FORBIDDEN',
      `This token may not ${access.scope === 'upload' ? 'upload or cancel jobs' : 'read jobs'} ` +
        `(its scopes: ${[...principal.scopes].join(', ')}); mint one with the "${access.scope}" scope.`,
    );
  }
  if (principal.jobId !== undefined && access.scope !== 'read') {
    throw new TallyError(
      'FORBIDDEN',
      'This token is bound to one job and may only read it; upload, cancel and re-run need an unbound token.',
    );
  }
  if (principal.jobId !== undefined && access.jobId !== principal.jobId) {
    throw new TallyError(
      'FORBIDDEN',
      access.jobId === undefined
        ? 'This token is bound to one job; it cannot upload or list jobs.'
        : 'This token is bound to another job.',
    );
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
