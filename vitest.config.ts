import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // One real PostgreSQL for the run (DATABASE_URL → Testcontainers → embedded), one
    // database per test file cloned from a migrated template.
    globalSetup: ['test/support/global-setup.ts'],
    // Marks a file whose test failed, so its database is kept for inspection.
    setupFiles: ['test/support/failures.ts'],
    // A test needing longer says so with its own timeout and why (a cold start under load, a kill and restart).
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
