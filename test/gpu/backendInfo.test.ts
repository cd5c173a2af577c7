/**
 * Backend selection and introspection where a CUDA device is present: 'auto' picks CUDA, the
 * availability report is clean, info() names the device, its memory and the driver, CUDA, cuDNN
 * and cuBLAS versions (recorded for the summary's header), and the math mode switches.
 * Skipped in a rehearsal on the CPU build: none of it applies there.
 */
import { expect, it } from 'vitest';

import { backendAvailability, cudaUnavailableReasons, getBackend } from '../../lib/backend/backend';
import { Tensor } from '../../lib/tensor';
import { describeOnDevice, rehearsal } from '../support/device';
import { checkThat, recordInfo } from '../support/report';

const GROUP = 'backend selection and info';
const VERSION = /^\d+\.\d+(\.\d+)?$/;
const REQUIRED_VERSIONS = ['driverVersion', 'runtimeVersion', 'cudnnVersion', 'cublasVersion'];
const onlyOnCuda = rehearsal ? ' (skipped: a rehearsal on the CPU build)' : '';

describeOnDevice('backend selection and info on a machine with a CUDA device', () => {
  it.skipIf(rehearsal)(`'auto' picks CUDA and nothing is reported missing${onlyOnCuda}`, () => {
    const auto = getBackend('auto');
    checkThat(GROUP, "getBackend('auto') is the CUDA backend", auto.kind === 'cuda' && auto === getBackend('cuda'), `got ${auto.kind}`);
    const availability = backendAvailability();
    checkThat(
      GROUP,
      'backendAvailability() says CUDA is available',
      availability.cuda.available && availability.cuda.reasons.length === 0,
      JSON.stringify(availability.cuda),
    );
    expect(cudaUnavailableReasons()).toEqual([]);
    const t = Tensor.zeros([3], { backend: 'auto' });
    expect(t.backend.kind).toBe('cuda');
    t.dispose();
  });

  it.skipIf(rehearsal)(`info() names the device, its memory and the driver, CUDA, cuDNN and cuBLAS versions${onlyOnCuda}`, () => {
    const info = getBackend('cuda').info();
    recordInfo('device', `${String(info.device)}, compute capability ${String(info.computeCapability)}`);
    recordInfo(
      'backend',
      `driver ${String(info.driverVersion)}, CUDA ${String(info.runtimeVersion)}, cuDNN ${String(info.cudnnVersion)}, cuBLAS ${String(info.cublasVersion)}`,
    );
    recordInfo('cudaInfo', info);
    checkThat(
      GROUP,
      'info().device is a name',
      typeof info.device === 'string' && info.device.length > 0,
      `device: ${String(info.device)}`,
    );
    checkThat(
      GROUP,
      'info().totalMemory is a byte count',
      typeof info.totalMemory === 'number' && info.totalMemory > 2 ** 30,
      `totalMemory: ${String(info.totalMemory)}`,
    );
    for (const key of REQUIRED_VERSIONS) {
      const value = info[key];
      checkThat(GROUP, `info().${key} is a version`, typeof value === 'string' && VERSION.test(value), `${key}: ${String(value)}`);
    }
  });

  it.skipIf(rehearsal)(`the math mode switches between strict fp32 (the default), TF32 and bf16${onlyOnCuda}`, () => {
    const cuda = getBackend('cuda');
    expect(cuda.mathMode).toBe('fp32');
    cuda.setMathMode('tf32');
    expect(cuda.mathMode).toBe('tf32');
    cuda.setMathMode('bf16');
    expect(cuda.mathMode).toBe('bf16');
    cuda.setMathMode('fp32');
    expect(cuda.mathMode).toBe('fp32');
    expect(() => cuda.setMathMode('fp16' as never)).toThrow(TypeError);
  });
});
