import type { TallyClient } from '../../src/client/index.ts';

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

/**
 * Resolves once a second, live watch of `jobId` (same `intervalMs`, its own client) has
 * started `intervals` more status requests than its first, then stops it. It is the clock
 * for "and nothing more afterwards": a stray request of the watch under test could only
 * come from a timer it left behind, due within one interval, and the live watch's own
 * timers run on the same event loop at this machine's present speed — no guessed delay
 * that a loaded machine outruns.
 */
export async function intervalsPass(
  client: TallyClient,
  jobId: string,
  intervalMs: number,
  intervals: number,
): Promise<void> {
  const stop = new AbortController();
  let reached!: () => void;
  const enough = new Promise<void>((resolve) => (reached = resolve));
  const watching = client
    .pollJob(jobId, {
      pollIntervalMs: intervalMs,
      maxPolls: Number.MAX_SAFE_INTEGER,
      signal: stop.signal,
      onPoll: (n) => n > intervals && reached(),
    })
    .then(
      (status) => {
        throw new Error(`the clock's job ${jobId} ended (${status.state}); it must stay unfinished`);
      },
      (error: unknown) => {
        if (!stop.signal.aborted) throw error;
      },
    );
  await Promise.race([enough, watching]);
  stop.abort(new Error('enough intervals'));
  await watching;
}
