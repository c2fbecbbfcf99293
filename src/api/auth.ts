import { createHash, timingSafeEqual } from 'node:crypto';
import { TallyError } from '../errors.ts';

/** The owner every job gets when auth is off (server on loopback, no API_TOKENS). */
export const LOCAL_OWNER = 'local';

export type Authenticate = (authorization: string | undefined) => string;

/**
 * Maps `Authorization: Bearer <token>` to the token's owner. Tokens are compared as SHA-256
 * digests with timingSafeEqual, against every known token, so the time taken says nothing
 * about which token or how much of it matched.
 */
export function createAuthenticator(tokens: ReadonlyMap<string, string> | undefined): Authenticate {
  if (!tokens) return () => LOCAL_OWNER;
  const known = [...tokens].map(([token, owner]) => ({ digest: sha256(token), owner }));
  return (authorization) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match?.[1]) {
      throw new TallyError('UNAUTHORIZED', 'Send an API token as "Authorization: Bearer <token>".');
    }
    const presented = sha256(match[1]);
    let owner: string | undefined;
    for (const k of known) if (timingSafeEqual(k.digest, presented)) owner = k.owner;
    if (owner === undefined) throw new TallyError('UNAUTHORIZED', 'The API token is not valid.');
    return owner;
  };
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
