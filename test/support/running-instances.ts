/**
 * Tallys (in this process) and Tally processes a test file started and has not stopped
 * yet, so that test/support/failures.ts can fail a test that leaves one running: a
 * forgotten server keeps its pg-boss polling and its pools open into the next test, whose
 * timings and counts it then disturbs (graphile-worker's tests check the same after each).
 */
interface Running {
  what: string;
  /** The test that started it; undefined: a beforeAll, kept until the file ends. */
  startedIn: string | undefined;
  stop(): Promise<unknown>;
}

const running = new Set<Running>();
let currentTest: string | undefined;

export function enterTest(id: string | undefined): void {
  currentTest = id;
}

/**
 * Records a running instance; the returned function forgets it (call it when it stops).
 * `keptAfterTest`: started in a test on purpose for the tests after it (the file's
 * afterAll stops it); checked only when the file ends.
 */
export function trackRunning(what: string, stop: () => Promise<unknown>, keptAfterTest = false): () => void {
  const entry: Running = { what, startedIn: keptAfterTest ? undefined : currentTest, stop };
  running.add(entry);
  return () => running.delete(entry);
}

/**
 * Stops what `test` started (or, with undefined, everything still running) and returns
 * what it was: what a test or file left running.
 */
export async function stopLeftovers(test: string | undefined): Promise<string[]> {
  const left = [...running].filter((r) => test === undefined || r.startedIn === test);
  for (const r of left) running.delete(r);
  await Promise.all(left.map((r) => r.stop().catch(() => undefined)));
  return left.map((r) => r.what);
}
