/** What every part of the client shares: where the server is and how to reach it. */
export interface ClientContext {
  /** Origin (and optional path prefix) of the Tally server, without a trailing slash; '' = same origin. */
  baseUrl: string;
  token: string | undefined;
  fetch: typeof globalThis.fetch;
  /** Whether the caller supplied its own fetch (then uploads use it too, never XHR). */
  customFetch: boolean;
}

export function authHeaders(ctx: ClientContext): Record<string, string> {
  return ctx.token ? { authorization: `Bearer ${ctx.token}` } : {};
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
