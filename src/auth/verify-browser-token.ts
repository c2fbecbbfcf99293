import { errors, jwtVerify, type JWTPayload } from 'jose';
import { TallyError } from '../errors.ts';
import { JOB_CLAIM, RESERVED_OWNERS, SCOPES, TOKEN_AUDIENCE, type Scope } from './scopes.ts';
import type { SigningKey } from './signing-keys.ts';

/** Who a request speaks for and what it may do. */
export interface Principal {
  owner: string;
  scopes: ReadonlySet<Scope>;
  /** Set for a token bound to one job. */
  jobId: string | undefined;
}

/**
 * Clocks of the minting backend and of Tally differ a little; a few seconds of slack on
 * `exp`/`nbf` keeps a fresh token from being refused, without keeping an expired one
 * alive for long.
 */
export const CLOCK_TOLERANCE_SECONDS = 5;

/**
 * The longest lifetime a token may have, checked here and not only when minting: a backend
 * with the key could otherwise mint a year-long token (or one leaked from a log live for a
 * year). Both ways are refused: `exp − iat` over 24 h, and `now − iat` over 24 h whatever
 * `exp` says.
 */
export const MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600;

export interface VerifierOptions {
  /** TOKEN_AUDIENCE: the `aud` every token must name (default 'tally'). */
  audience?: string | undefined;
  /** TOKEN_ISSUER: when set, tokens must carry it as `iss`. */
  issuer?: string | undefined;
  /** The clock, for tests of the tolerance edges; default now. */
  now?: () => Date;
}

export type VerifyBrowserToken = (token: string) => Promise<Principal>;

const unauthorized = (message: string) => new TallyError('UNAUTHORIZED', message);

/**
 * Verifies an HS256 browser token against the configured keys, by its `kid`, with no
 * database lookup. Every refusal is a 401 whose message says what is wrong and never
 * quotes the token.
 */
export function createBrowserTokenVerifier(
  keys: readonly SigningKey[],
  opts: VerifierOptions = {},
): VerifyBrowserToken {
  const byId = new Map(keys.map((k) => [k.id, new TextEncoder().encode(k.secret)]));
  const audience = opts.audience ?? TOKEN_AUDIENCE;
  return async (token) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(
        token,
        (header) => {
          const key = header.kid === undefined ? undefined : byId.get(header.kid);
          if (!key) throw unauthorized('The token is signed with a key this server does not know (kid).');
          return key;
        },
        {
          algorithms: ['HS256'],
          audience,
          ...(opts.issuer ? { issuer: opts.issuer } : {}),
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          requiredClaims: ['sub', 'exp', 'iat'],
          maxTokenAge: MAX_TOKEN_LIFETIME_SECONDS,
          ...(opts.now ? { currentDate: opts.now() } : {}),
        },
      ));
    } catch (error) {
      throw refusal(error);
    }
    // Both are numbers here: requiredClaims and jose's date checks saw to it.
    if (payload.exp! - payload.iat! > MAX_TOKEN_LIFETIME_SECONDS + CLOCK_TOLERANCE_SECONDS)
      throw unauthorized('The token claims a lifetime over 24 h (exp − iat); mint tokens of 24 h or less.');
    return principalOf(payload);
  };
}

function refusal(error: unknown): TallyError {
  if (error instanceof TallyError) return error;
  if (error instanceof errors.JWTExpired) {
    return unauthorized(
      error.claim === 'iat'
        ? 'The token was issued more than 24 h ago (iat); fetch a new one.'
        : 'The token has expired; fetch a new one.',
    );
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    // A missing or non-numeric iat/nbf is no clock problem: it falls through to "lacks".
    if ((error.claim === 'nbf' || error.claim === 'iat') && error.reason === 'check_failed')
      return unauthorized(
        'The token is not valid yet (nbf/iat in the future); check the clock of its issuer.',
      );
    if (error.claim === 'aud') return unauthorized('The token is meant for another audience (aud).');
    if (error.claim === 'iss')
      return unauthorized('The token comes from an issuer this server does not accept.');
    return unauthorized(`The token lacks a valid "${error.claim}" claim.`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return unauthorized('The token signature does not verify.');
  if (error instanceof errors.JOSEAlgNotAllowed) return unauthorized('The token must be signed with HS256.');
  return unauthorized('The token is malformed.');
}

function principalOf(payload: JWTPayload): Principal {
  const owner = payload.sub ?? '';
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(owner) || RESERVED_OWNERS.has(owner))
    throw unauthorized('The token names no valid owner (sub).');
  const raw = payload.scope;
  const scopes = new Set(
    (typeof raw === 'string' ? raw.split(' ') : []).filter((s): s is Scope =>
      (SCOPES as readonly string[]).includes(s),
    ),
  );
  if (scopes.size === 0)
    throw unauthorized(`The token has no scope (expected some of: ${SCOPES.join(', ')}).`);
  const job = payload[JOB_CLAIM];
  if (job !== undefined && typeof job !== 'string')
    throw unauthorized(`The token's "${JOB_CLAIM}" claim is not a job id.`);
  return { owner, scopes, jobId: job };
}
