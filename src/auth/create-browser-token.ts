import { SignJWT } from 'jose';
import { JOB_CLAIM, RESERVED_OWNERS, SCOPES, TOKEN_AUDIENCE, type Scope } from './scopes.ts';
import { parseSigningKeys, type SigningKey } from './signing-keys.ts';

export interface CreateBrowserTokenOptions {
  /** The end user the token speaks for; becomes the owner of the jobs it uploads. */
  owner: string;
  scopes: readonly Scope[];
  /** Lifetime, 1 s to 24 h. Minutes are typical: the browser's token provider refreshes it. */
  ttlSeconds: number;
  /** Bind the token to one job: it then reads (and cancels) only that job and cannot upload. */
  jobId?: string;
  /**
   * The key to sign with: TOKEN_SIGNING_KEYS as Tally has it (`kid:secret[,…]`, the
   * first key signs) or one key.
   */
  signingKey: string | SigningKey;
  /** Default 'tally'; must match what Tally expects. */
  audience?: string;
  /** Optional `iss`; Tally checks it only when TOKEN_ISSUER is set. */
  issuer?: string;
}

export interface BrowserToken {
  token: string;
  /** ISO-8601; hand it to the browser with the token so its provider knows when to refresh. */
  expiresAt: string;
}

const MAX_TTL_SECONDS = 24 * 3600;

/**
 * Mints a short-lived browser token (HS256 JWT): `sub` = owner, `aud`, `iat` = `nbf` =
 * now, `exp`, `scope` (space-separated, as in RFC 8693) and optionally `job`. Tally
 * verifies it with the same key, without a database lookup.
 */
export async function createBrowserToken(opts: CreateBrowserTokenOptions): Promise<BrowserToken> {
  const key = typeof opts.signingKey === 'string' ? parseSigningKeys(opts.signingKey)[0] : opts.signingKey;
  if (!key) throw new TypeError('createBrowserToken: signingKey has no key');
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(opts.owner) || RESERVED_OWNERS.has(opts.owner)) {
    throw new TypeError(
      'createBrowserToken: owner must be 1–64 letters, digits or . _ @ - (and not a reserved name such as "local")',
    );
  }
  if (!Number.isInteger(opts.ttlSeconds) || opts.ttlSeconds < 1 || opts.ttlSeconds > MAX_TTL_SECONDS) {
    throw new TypeError(`createBrowserToken: ttlSeconds must be a whole number from 1 to ${MAX_TTL_SECONDS}`);
  }
  const scopes = [...new Set(opts.scopes)];
  if (scopes.length === 0 || scopes.some((s) => !SCOPES.includes(s))) {
    throw new TypeError(`createBrowserToken: scopes must be some of ${SCOPES.join(', ')}`);
  }
  const now = Math.floor(Date.now() / 1000);
  const exp = now + opts.ttlSeconds;
  const jwt = new SignJWT({ scope: scopes.join(' '), ...(opts.jobId ? { [JOB_CLAIM]: opts.jobId } : {}) })
    .setProtectedHeader({ alg: 'HS256', kid: key.id, typ: 'JWT' })
    .setSubject(opts.owner)
    .setAudience(opts.audience ?? TOKEN_AUDIENCE)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(exp);
  if (opts.issuer) jwt.setIssuer(opts.issuer);
  const token = await jwt.sign(new TextEncoder().encode(key.secret));
  return { token, expiresAt: new Date(exp * 1000).toISOString() };
}
