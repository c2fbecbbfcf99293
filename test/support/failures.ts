import { afterEach } from 'vitest';

/**
 * Whether a test of this file has failed. Test databases are kept when one did (pg-boss keeps a
 * failed test's schema too), so the rows that made it fail can be read with psql afterwards.
 * Registered for every file through `setupFiles` in vitest.config.ts.
 */
let failed = false;

export function anyTestFailed(): boolean {
  return failed;
}

afterEach((context) => {
  if (context.task.result?.state === 'fail') failed = true;
});
