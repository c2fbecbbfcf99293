/**
 * WEBHOOK_SECRET as the Standard Webhooks specification writes it: `whsec_` followed by
 * the base64 of 24 to 64 random bytes (what `standardwebhooks` and Svix generate). The
 * bytes after the prefix are the HMAC key. Errors name the rule, never the value.
 */
const PREFIX = 'whsec_';
const MIN_BYTES = 24;
const MAX_BYTES = 64;

export function parseWebhookSecret(value: string): Buffer {
  if (!value.startsWith(PREFIX)) throw new Error(`must start with "${PREFIX}" (a Standard Webhooks secret)`);
  const encoded = value.slice(PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0)
    throw new Error(`must be "${PREFIX}" followed by base64`);
  const key = Buffer.from(encoded, 'base64');
  if (key.length < MIN_BYTES || key.length > MAX_BYTES)
    throw new Error(`must encode ${MIN_BYTES} to ${MAX_BYTES} random bytes (it encodes ${key.length})`);
  if (new Set(key).size < 8) throw new Error('must be random bytes, not a placeholder');
  return key;
}
