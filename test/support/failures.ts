import { afterAll, afterEach, beforeEach } from 'vitest';
import { enterTest, stopLeftovers } from './running-instances.ts';

/**
 * Whether a test of this file has failed. Test databases are kept when one did (pg-boss keeps a
 * failed test's schema too), so the rows that made it fail can be read with psql afterwards.
 * Registered for every file through `setupFiles` in vitest.config.ts.
 *
 * Also the leak check: a test that leaves a Tally it started running (test/support/tally.ts,
 * child-process.ts) fails, after the file's own afterEach hooks have had their turn (hooks
 * run in reverse order of registration, and this file registers first); a file that leaves
 * one running after its afterAll fails likewise. Either way the leftover is stopped.
 */
let failed = false;

export function anyTestFailed(): boolean {
  return failed;
}

beforeEach((context) => enterTest(context.task.id));

afterEach(async (context) => {
  enterTest(undefined);
  const alreadyFailed = context.task.result?.state === 'fail';
  if (alreadyFailed) failed = true;
  const left = await stopLeftovers(context.task.id);
  if (left.length > 0 && !alreadyFailed) {
    failed = true;
    throw new Error(
      `the test left running: ${left.join(', ')}; stop it in the test (try/finally) or an afterEach`,
    );
  }
});

afterAll(async () => {
  const left = await stopLeftovers(undefined);
  if (left.length > 0) {
    failed = true;
    throw new Error(`the file left running: ${left.join(', ')}; stop it in an afterAll`);
  }
});
