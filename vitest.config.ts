import { defineConfig } from 'vitest/config';

// Forks, not threads: a native crash must take down one worker, never the runner.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    // The JSON report feeds CI's closing summary line (scripts/test-summary.mjs).
    reporters: ['default', 'json'],
    outputFile: { json: 'build-cmake/vitest-report.json' },
  },
});
