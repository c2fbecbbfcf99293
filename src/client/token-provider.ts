import type { TokenProvider } from './context.ts';

/** What an app's token route answers: the token and when it expires. */
export interface IssuedToken {
  token: string;
  /** ISO-8601 string, epoch milliseconds or a Date. */
  expiresAt: string | number | Date;
}

export interface TokenProviderOptions {
  /**
   * Fetch a new token this long before the current one expires. Default 30 s, and never
   * more than half the token's lifetime (so a 10 s token is refreshed after 5 s).
   */
  refreshBeforeMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/**
 * A TokenProvider that caches the token from `fetchToken` (typically a call to your own
 * backend, which mints it with `createBrowserToken`) and fetches a new one before it
 * expires. Concurrent requests share one refresh; a failed refresh is retried on the
 * next request (the client treats it as a transient failure within its poll budget).
 */
export function createTokenProvider(
  fetchToken: () => Promise<IssuedToken>,
  opts: TokenProviderOptions = {},
): TokenProvider {
  const now = opts.now ?? Date.now;
  const margin = opts.refreshBeforeMs ?? 30_000;
  let current: { token: string; refreshAt: number } | undefined;
  let pending: Promise<string> | undefined;

  const refresh = async () => {
    const requested = now();
    const issued = await fetchToken();
    const expiresAt = new Date(issued.expiresAt).getTime();
    if (!issued.token || Number.isNaN(expiresAt))
      throw new Error('The token route answered no token or expiry.');
    const lifetime = Math.max(0, expiresAt - requested);
    current = { token: issued.token, refreshAt: expiresAt - Math.min(margin, lifetime / 2) };
    return issued.token;
  };

  return () => {
    if (current && now() < current.refreshAt) return current.token;
    pending ??= refresh().finally(() => (pending = undefined));
    return pending;
  };
}
