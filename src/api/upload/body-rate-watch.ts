import type { Readable } from 'node:stream';
import { TallyError } from '../../errors.ts';

export interface BodyRateLimits {
  /** Cut a body that sends nothing for this long (a stalled client). */
  idleTimeoutMs: number;
  /**
   * Cut a body slower than this on average once `rateGraceMs` have passed: a client
   * trickling one byte a second would otherwise hold a connection and a staging forever
   * while never tripping the idle timer.
   */
  minBytesPerSecond: number;
  rateGraceMs: number;
}

/**
 * Cuts a body that stalls (no data for idleTimeoutMs) or trickles (under
 * minBytesPerSecond on average after rateGraceMs). Time spent waiting on our own store
 * (`storeWaitMs`, while the body is paused by our back-pressure) is not the client's: on a
 * slow S3 server four parts in flight took over 30 s, and the idle timer answered 408 to a
 * client that was waiting on us. Returns the function that stops it.
 */
export function watchBodyRate(
  req: Readable,
  limits: BodyRateLimits,
  fail: (error: TallyError) => void,
  storeWaitMs: () => number,
): () => void {
  const startedAt = Date.now();
  let lastDataAt = startedAt;
  let waitedAtLastData = 0;
  let received = 0;
  const onData = (chunk: Buffer) => {
    lastDataAt = Date.now();
    waitedAtLastData = storeWaitMs();
    received += chunk.length;
  };
  req.on('data', onData);
  const watchdog = setInterval(
    () => {
      const now = Date.now();
      const waited = storeWaitMs();
      const silentMs = now - lastDataAt - (waited - waitedAtLastData);
      const clientMs = now - startedAt - waited;
      if (silentMs >= limits.idleTimeoutMs) {
        fail(
          new TallyError(
            'REQUEST_TIMEOUT',
            `The upload stalled: no data for ${Math.round(silentMs / 1000)} s.`,
          ),
        );
      } else if (clientMs >= limits.rateGraceMs && (received * 1000) / clientMs < limits.minBytesPerSecond) {
        fail(
          new TallyError(
            'REQUEST_TIMEOUT',
            `The upload is too slow (under ${limits.minBytesPerSecond} bytes/s); check the connection and try again.`,
          ),
        );
      }
    },
    Math.min(1000, limits.idleTimeoutMs),
  );
  return () => {
    clearInterval(watchdog);
    req.off('data', onData);
  };
}
