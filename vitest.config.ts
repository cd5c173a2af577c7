import { defineConfig } from 'vitest/config';

// The CPU suite: always runs. The per-op tests of test/ops run here on the CPU build (an empty
// ALEXNET_TEST_DEVICE, whatever the shell holds: see test/support/device.ts); the GPU suite
// (`npm run test:gpu`, vitest.gpu.config.ts) runs them again on the device, with test/gpu.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/gpu/**', 'node_modules/**'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    env: { ALEXNET_QUIET: '1', ALEXNET_TEST_DEVICE: '' },
  },
});
