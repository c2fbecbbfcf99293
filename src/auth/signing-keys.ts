import { estimateEntropyBits } from './token-entropy.ts';

/** One HS256 key: `id` goes into each token's `kid` header so keys can be rotated. */
export interface SigningKey {
  id: string;
  secret: string;
}

/** HS256 wants a key at least as long as its hash (RFC 7518 §3.2). */
export const MIN_SECRET_BYTES = 32;
/** A 32-byte random hex secret scores ~125 bits by `estimateEntropyBits`; a placeholder far less. */
export const MIN_SECRET_ENTROPY_BITS = 96;

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Parses `kid:secret[,kid:secret…]` (TOKEN_SIGNING_KEYS). The first key signs new tokens;
 * every key verifies, so a new key can be added before it is used and an old one removed
 * once its tokens have expired. Messages never quote a secret.
 */
export function parseSigningKeys(text: string): SigningKey[] {
  const keys: SigningKey[] = [];
  const entries = text
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0) throw new Error('give at least one key as kid:secret');
  for (const [index, entry] of entries.entries()) {
    const at = entry.indexOf(':');
    const id = at < 0 ? '' : entry.slice(0, at);
    const secret = at < 0 ? '' : entry.slice(at + 1);
    if (!KEY_ID.test(id) || secret === '') {
      throw new Error(`entry ${index + 1} must be kid:secret, with a kid of letters, digits, . _ or -`);
    }
    if (new TextEncoder().encode(secret).byteLength < MIN_SECRET_BYTES) {
      throw new Error(`the secret of key "${id}" is shorter than ${MIN_SECRET_BYTES} bytes`);
    }
    if (estimateEntropyBits(secret) < MIN_SECRET_ENTROPY_BITS) {
      throw new Error(
        `the secret of key "${id}" looks like a placeholder (too few different characters); ` +
          'use random bytes, e.g. `openssl rand -hex 32`',
      );
    }
    if (keys.some((k) => k.id === id)) throw new Error(`key id "${id}" is given twice`);
    if (keys.some((k) => k.secret === secret))
      throw new Error(`key "${id}" repeats the secret of another key`);
    keys.push({ id, secret });
  }
  return keys;
}
