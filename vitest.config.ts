import { defineConfig } from 'vitest/config';

// CPU tests: always run. GPU tests live in test/gpu and run with `npm run test:gpu`.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/gpu/**', 'node_modules/**'],
    // Prints the robustness probes' summary line at the end (test/robustness/support/probes.ts).
    globalSetup: ['test/robustness/support/probes.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    env: { ALEXNET_QUIET: '1' },
  },
});
