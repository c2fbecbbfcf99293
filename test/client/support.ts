/** Helpers shared by the client tests: a request-counting fetch around the real one. */
export interface CountingFetch {
  fetch: typeof globalThis.fetch;
  /** URLs of every request made so far, in order. */
  urls: string[];
  /** How many requests hit a given tRPC procedure (e.g. 'jobs.status'). */
  count(procedure: string): number;
}

export function countingFetch(
  /** Runs before each request; throw to simulate a network failure (the request is still counted). */
  before?: (url: string, n: number) => void,
): CountingFetch {
  const urls: string[] = [];
  // async: a throw from `before` becomes a rejected fetch, as a network failure would.
  const wrapped: typeof globalThis.fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    urls.push(url);
    before?.(url, urls.length);
    return fetch(input, init);
  };
  return {
    fetch: wrapped,
    urls,
    count: (procedure) => urls.filter((u) => new URL(u).pathname === `/trpc/${procedure}`).length,
  };
}

export const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
