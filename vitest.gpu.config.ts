import { defineConfig } from 'vitest/config';

// GPU tests: every op and preset against PyTorch's fixtures and the CPU build, training runs,
// memory and out-of-memory behaviour. Each file skips itself, visibly, where no CUDA device exists.
export default defineConfig({
  test: {
    include: ['test/gpu/**/*.test.ts'],
    // Prints the table of worst errors per op at the end (and writes $ALEXNET_GPU_REPORT).
    globalSetup: ['test/gpu/support/globalSetup.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 600_000,
    env: { ALEXNET_QUIET: '1' },
  },
});
