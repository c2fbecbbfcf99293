import type { WorkerHooks } from '../../src/worker/run-analysis-job.ts';

export interface HeldSource {
  /** The worker hook: passes the stored bytes through in 16 KiB pieces, holding once. */
  wrapSource: NonNullable<WorkerHooks['wrapSource']>;
  /** Resolves once the attempt has read up to the hold and waits there. */
  atHold: Promise<void>;
  /**
   * Resolves with the reason once the held attempt's abort signal fires; rejects after
   * `timeoutMs` naming what did not happen (a worker that ignores a cancel fails here, in
   * seconds, not at the test timeout).
   */
  aborted(timeoutMs?: number): Promise<unknown>;
  /** Lets the held attempt read on. */
  release(): void;
  /** Bytes handed to the worker, and whether it asked for the whole file. */
  readonly stats: { bytes: number; reachedEnd: boolean };
}

/**
 * Holds a worker's first attempt mid-file, so a test can change the world (cancel the job,
 * supersede the attempt) while the attempt provably has not finished, then let it go and
 * see what it does. `holdWhen` decides the moment (default: past the 64 KiB head, so the
 * analysis is reading rows). Later attempts pass through untouched.
 */
export function holdSource(
  holdWhen: (bytes: number) => boolean | Promise<boolean> = (bytes) => bytes > 96 * 1024,
): HeldSource {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let reachHold!: () => void;
  const atHold = new Promise<void>((r) => (reachHold = r));
  let reportAbort!: (reason: unknown) => void;
  const abortedOnce = new Promise<unknown>((r) => (reportAbort = r));
  const aborted = (timeoutMs = 10_000) =>
    Promise.race([
      abortedOnce,
      new Promise<never>((_, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`waited ${timeoutMs} ms for the held attempt to be aborted; it was not`)),
          timeoutMs,
        );
        void abortedOnce.then(() => clearTimeout(timer));
      }),
    ]);
  const stats = { bytes: 0, reachedEnd: false };
  let attempts = 0;
  const wrapSource: HeldSource['wrapSource'] = (_jobId, source, signal) => {
    if (++attempts > 1) return source;
    signal.addEventListener('abort', () => reportAbort(signal.reason), { once: true });
    return (async function* () {
      let held = false;
      for await (const chunk of source) {
        for (let at = 0; at < chunk.length; at += 16 * 1024) {
          const piece = chunk.subarray(at, at + 16 * 1024);
          stats.bytes += piece.length;
          yield piece;
          if (!held && (await holdWhen(stats.bytes))) {
            held = true;
            reachHold();
            await released;
          }
        }
      }
      stats.reachedEnd = true;
    })();
  };
  return { wrapSource, atHold, aborted, release, stats };
}
