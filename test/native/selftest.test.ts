/**
 * The native self-test on the CPU build: every op of the backend interface against the
 * double-precision references of test/native/selftest/, without Node.js in between (the binary
 * links the CPU backend's own objects). It also checks the checks that the GPU suite runs against
 * the CUDA build (test/gpu/selftest.test.ts). Fails on any FAIL line or a non-zero exit.
 */
import { existsSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { ciRequiresEverything } from '../helpers';
import { runSelftest, selftestBinary } from './selftest';

describe('native self-test, CPU build', () => {
  it('passes every check (--quick: no timings)', () => {
    const run = runSelftest(selftestBinary('cpu'), ['--quick'], 300_000);
    expect(run.failed, run.output).toEqual([]);
    expect(run.signal, run.output).toBeNull();
    expect(run.status, run.output).toBe(0);
    expect(run.summary).toMatch(/^0 of \d+ checks failed$/);
    // A run that stopped early could show no FAIL line: every concern must have reported.
    expect(run.passed.length, run.output).toBeGreaterThanOrEqual(130);
    for (const concern of [
      'conv ',
      'conv plan key',
      'conv engine rules',
      'conv plan cache file',
      'workspace limit',
      'lrn ',
      'max pool ',
      'adaptive avg pool ',
      'linear ',
      'relu ',
      'softmax forward',
      'dropout ',
      'softmax cross-entropy',
      'top-',
      'sgd ',
      'steady-state',
      'deterministic mode',
      '16 large uploads in flight',
      'out-of-memory',
      'fill_uniform',
      'add_scaled',
      'multiply',
      'copy',
      'linear epilogues',
      'graph: ',
    ]) {
      expect(
        run.passed.some((l) => l.startsWith(`PASS ${concern}`)),
        `no check of ${concern.trim()} ran:\n${run.output}`,
      ).toBe(true);
    }
  });
});

describe('native self-test, CUDA build, without a device', () => {
  // How CUDA, cuDNN and cuBLAS statuses become OutOfMemoryError, DeviceLostError and BackendError
  // (native/cuda/check.cc) needs the CUDA runtime's error tables only, not a GPU.
  const binary = selftestBinary('cuda');
  it('maps status codes to the error classes (--errors)', (ctx) => {
    if (!existsSync(binary)) {
      const reason = `no CUDA self-test at ${binary} (the CUDA build needs nvcc 13, cuDNN 9 and cuBLAS 13)`;
      if (ciRequiresEverything) throw new Error(reason);
      ctx.skip(reason);
    }
    const run = runSelftest(binary, ['--errors'], 60_000);
    expect(run.failed, run.output).toEqual([]);
    expect(run.status, run.output).toBe(0);
    expect(run.passed.filter((l) => l.startsWith('PASS cuda errors: ')).length, run.output).toBeGreaterThanOrEqual(17);
    expect(
      run.passed.some((l) => /DeviceLostError, saying to restart/.test(l)),
      run.output,
    ).toBe(true);
  });
});
