import { defineConfig } from 'vitest/config';

// The GPU suite: the per-op tests of test/ops (written once for every backend) on the device, with
// their device-only comparisons against the CPU build, plus test/gpu (whole presets, training,
// memory, out-of-memory, backend info). ALEXNET_TEST_DEVICE selects the backend under test
// (test/support/device.ts): CUDA, or the CPU build in a rehearsal (ALEXNET_GPU_TEST_BACKEND=cpu).
// Each file skips itself, visibly, where no CUDA device is usable.
export default defineConfig({
  test: {
    include: ['test/ops/**/*.test.ts', 'test/gpu/**/*.test.ts', 'test/models/bf16Presets.test.ts'],
    // Prints the table of worst errors per op at the end (and writes $ALEXNET_GPU_REPORT).
    globalSetup: ['test/support/globalSetup.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 600_000,
    env: { ALEXNET_QUIET: '1', ALEXNET_TEST_DEVICE: process.env.ALEXNET_GPU_TEST_BACKEND ?? 'cuda' },
  },
});
