import net from 'node:net';
import { z } from 'zod';
import { RESERVED_OWNERS } from '../auth/scopes.ts';
import { parseSigningKeys } from '../auth/signing-keys.ts';
import { estimateEntropyBits } from '../auth/token-entropy.ts';

const tokenPair = z
  .string()
  .regex(
    /^[A-Za-z0-9._@-]{1,64}:[^\s,]{16,}$/,
    'each entry must be owner:token, with a token of 16+ characters',
  );

/** 16 random hex digits score ~50 bits by `estimateEntropyBits`; 16 identical characters 0. */
const MIN_API_TOKEN_ENTROPY_BITS = 40;

const parseApiTokens = (v: string | undefined, ctx: z.RefinementCtx) => {
  if (v === undefined || v.trim() === '') return undefined;
  const entries = v.split(',').map((e) => e.trim());
  const tokens = new Map<string, string>();
  // Messages name owners, never tokens.
  const fail = (message: string) => {
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  for (const entry of entries) {
    const parsed = tokenPair.safeParse(entry);
    if (!parsed.success) return fail(parsed.error.issues[0]?.message ?? 'invalid entry');
    const at = entry.indexOf(':');
    const owner = entry.slice(0, at);
    const token = entry.slice(at + 1);
    if (RESERVED_OWNERS.has(owner))
      return fail(`owner "${owner}" is reserved for auth-off mode (the loopback default); pick another name`);
    if (estimateEntropyBits(token) < MIN_API_TOKEN_ENTROPY_BITS)
      return fail(
        `the token of owner "${owner}" looks like a placeholder (too few different characters); use random bytes, e.g. \`openssl rand -hex 24\``,
      );
    const other = tokens.get(token);
    if (other !== undefined)
      return fail(`owners "${other}" and "${owner}" have the same token; give each owner its own`);
    tokens.set(token, owner);
  }
  return tokens; // token → owner
};

/** Exact origins (scheme://host[:port]) whose pages may call the API from a browser. */
const parseCorsOrigins = (v: string | undefined, ctx: z.RefinementCtx) => {
  if (v === undefined || v.trim() === '') return [] as string[];
  const origins: string[] = [];
  for (const entry of v
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')) {
    let origin: string | undefined;
    try {
      const url = new URL(entry);
      if (url.protocol === 'http:' || url.protocol === 'https:') origin = url.origin;
    } catch {
      origin = undefined;
    }
    if (origin === undefined || origin !== entry || entry.includes('*')) {
      ctx.addIssue({
        code: 'custom',
        message: `"${entry}" is not an exact origin; write scheme://host[:port] with no path, slash or wildcard (e.g. https://app.example.com)`,
      });
      return z.NEVER;
    }
    origins.push(origin);
  }
  return origins;
};

/**
 * TRUST_PROXY, as Fastify's `trustProxy` takes it: `true`/`false`, a hop count (how many
 * proxies in front of Tally may append to X-Forwarded-For), or a list of proxy addresses
 * and CIDR ranges (proxy-addr's names `loopback`, `linklocal`, `uniquelocal` too). Unset:
 * the socket's address is the client's (no header is trusted).
 */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);
const parseTrustProxy = (v: string | undefined, ctx: z.RefinementCtx): boolean | number | string[] => {
  if (v === undefined || v.trim() === '' || v.trim() === 'false') return false;
  const t = v.trim();
  if (t === 'true') return true;
  if (/^\d+$/.test(t)) {
    const hops = Number(t);
    if (hops > 0 && hops <= 32) return hops;
  }
  const entries = t.split(',').map((e) => e.trim());
  for (const entry of entries) {
    const [address = '', prefix, ...rest] = entry.split('/');
    const family = net.isIP(address);
    const bits = family === 4 ? 32 : 128;
    const prefixOk = prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= bits);
    if (!PROXY_RANGE_NAMES.has(entry) && (family === 0 || !prefixOk || rest.length > 0)) {
      ctx.addIssue({
        code: 'custom',
        message: `"${entry}" is not a proxy address; write true, false, a hop count from 1 to 32, or a list of IPs and CIDR ranges (e.g. 10.0.0.0/8,fd00::/8)`,
      });
      return z.NEVER;
    }
  }
  return entries;
};

/** Who may call the API: tokens, signing keys, trusted proxies, browser origins. */
export const accessEnv = {
  API_TOKENS: z.string().optional().transform(parseApiTokens),
  /**
   * Browser tokens: `kid:secret[,kid:secret…]`, HS256, secrets of 32+ bytes. The first key
   * is the one a backend signs with; all verify (rotation). Unset: no browser tokens.
   */
  TOKEN_SIGNING_KEYS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return undefined;
      try {
        return parseSigningKeys(v);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  /** When set, browser tokens must carry it as `iss`. */
  TOKEN_ISSUER: z.string().min(1).optional(),
  /** The `aud` browser tokens must name: give staging and production different ones when they share a key. */
  TOKEN_AUDIENCE: z
    .string()
    .regex(/^[\x21-\x7e]{1,200}$/, 'must be 1–200 printable characters without spaces')
    .default('tally'),
  /** Which proxy hops may set the client address (X-Forwarded-For): see parseTrustProxy. */
  TRUST_PROXY: z.string().optional().transform(parseTrustProxy),
  /** Origins allowed to call the API from a browser (CORS); unset = same origin only. */
  CORS_ORIGINS: z.string().optional().transform(parseCorsOrigins),
};
