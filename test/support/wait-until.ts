import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `fn` until it returns something other than `undefined` or `false`, and returns that.
 * Past `timeoutMs` it throws naming `what` and the last value seen, so a test that waits for
 * the wrong thing fails in seconds with a reason instead of at vitest's 90 s test timeout.
 * (graphile-worker's `sleepUntil` is the model.)
 */
export async function waitUntil<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  opts: { what: string; timeoutMs?: number; intervalMs?: number },
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const intervalMs = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${opts.what}; it did not happen`);
    await sleep(intervalMs);
  }
}
