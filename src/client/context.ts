/**
 * Gives the token for the next request. Called before every request (upload and each
 * status poll), so a provider that refreshes an expiring token keeps a long watch going;
 * see `createTokenProvider`. Undefined: send no token (auth off).
 */
export type TokenProvider = () => string | undefined | Promise<string | undefined>;

/** What every part of the client shares: where the server is and how to reach it. */
export interface ClientContext {
  /** Origin (and optional path prefix) of the Tally server, without a trailing slash; '' = same origin. */
  baseUrl: string;
  token: TokenProvider;
  fetch: typeof globalThis.fetch;
  /** Whether the caller supplied its own fetch (then uploads use it too, never XHR). */
  customFetch: boolean;
}

export async function authHeaders(ctx: ClientContext): Promise<Record<string, string>> {
  const token = await ctx.token();
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
