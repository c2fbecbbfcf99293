import { createHmac, timingSafeEqual } from 'node:crypto';
import { cookies } from 'next/headers';

/**
 * The example's sign-in: a session cookie `<name>.<issued-at>.<HMAC-SHA256>` signed with
 * SESSION_SECRET. A real app has real auth; what it must keep from this one is that the
 * cookie names a user only if the server signed it: the token route mints Tally tokens for
 * whoever the cookie names, so a cookie set by hand (`example_user=anyone`, as an earlier
 * version of this example accepted) would let anyone read anyone's jobs.
 */
export const SESSION_COOKIE = 'example_session';
export const USER_NAME = /^[a-z0-9._-]{1,32}$/;
/** A session lasts a working day; then the user signs in again. */
export const SESSION_MAX_AGE_SECONDS = 8 * 3600;

/** SESSION_SECRET, checked on every use so a missing or weak one fails loudly, naming itself. */
function secret(): Buffer {
  const value = process.env.SESSION_SECRET ?? '';
  if (Buffer.byteLength(value) < 32 || new Set(value).size < 10) {
    throw new Error(
      'SESSION_SECRET must be set to 32 or more random characters (e.g. `openssl rand -hex 32`); ' +
        'it signs the session cookie.',
    );
  }
  return Buffer.from(value);
}

function sign(payload: string): string {
  return createHmac('sha256', secret()).update(payload).digest('base64url');
}

/** The cookie value for `user`, signed now. */
export function sessionValue(user: string, now = Date.now()): string {
  const payload = `${user}.${Math.floor(now / 1000)}`;
  return `${payload}.${sign(payload)}`;
}

/** The user a cookie value names, if the server signed it and it has not expired. */
export function userOfSession(value: string | undefined, now = Date.now()): string | undefined {
  const match = /^([a-z0-9._-]{1,32})\.(\d{1,12})\.([\w-]{43})$/.exec(value ?? '');
  if (!match) return undefined;
  const [, user, issuedAt, mac] = match as unknown as [string, string, string, string];
  const expected = Buffer.from(sign(`${user}.${issuedAt}`));
  const given = Buffer.from(mac);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  const age = now / 1000 - Number(issuedAt);
  return age >= -60 && age <= SESSION_MAX_AGE_SECONDS ? user : undefined;
}

export async function currentUser(): Promise<string | undefined> {
  return userOfSession((await cookies()).get(SESSION_COOKIE)?.value);
}

/** Cookie options: never readable by scripts, not sent on cross-site POSTs, https-only off loopback. */
export function sessionCookieOptions(host: string | null) {
  return {
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: !isLoopbackHost(host),
    path: '/',
    maxAge: SESSION_MAX_AGE_SECONDS,
  };
}

function isLoopbackHost(host: string | null): boolean {
  const name = (host ?? '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/**
 * Sign-in and sign-out change who the browser is: a page on another site must not do it
 * for the user (login CSRF: signed in as the attacker, the user uploads into the
 * attacker's account). Browsers send Origin on every POST; it must be this app's own.
 */
export function isSameOrigin(request: Request): boolean {
  const origin = request.headers.get('origin');
  const host = request.headers.get('host');
  if (!origin || !host) return false;
  try {
    const url = new URL(origin);
    return url.host === host && (url.protocol === 'https:' || isLoopbackHost(host));
  } catch {
    return false;
  }
}
