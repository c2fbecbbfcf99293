import { Writable } from 'node:stream';

export interface LogLines {
  /** Pass as `logStream` to startTestTally (with LOG_LEVEL info or lower). */
  stream: Writable;
  lines: string[];
  /**
   * Resolves with the first line matching `pattern`, already written or still to come;
   * rejects after `timeoutMs` naming the pattern and the last lines seen.
   */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

/**
 * An in-process Tally's log lines, to wait on what the server says it has done (for
 * example Fastify's "incoming request", logged once it has a request's head) instead of
 * sleeping and hoping it has.
 */
export function logLines(): LogLines {
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        lines.push(line);
        for (const w of waiters.filter((x) => x.pattern.test(line))) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
      done();
    },
  });
  const waitFor = (pattern: RegExp, timeoutMs = 30_000) => {
    const seen = lines.find((l) => pattern.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `no log line matching ${pattern} within ${timeoutMs} ms:\n${lines.slice(-10).join('\n')}`,
            ),
          ),
        timeoutMs,
      );
      waiters.push({ pattern, resolve: (line) => (clearTimeout(timer), resolve(line)) });
    });
  };
  return { stream, lines, waitFor };
}
