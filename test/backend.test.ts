/**
 * Choosing a backend on a machine without a CUDA device (this one, and CI): 'auto' falls back to
 * the CPU and says why once; asking for 'cuda' throws a BackendUnavailableError whose reasons say
 * what is missing and how to get it; a bad ALEXNET_BACKEND is a TypeError naming the variable.
 * And the CUDA build itself (addons/cuda, which CI builds with pip's cuDNN and cuBLAS) loads here
 * and reports "no CUDA device" cleanly, as errors and never as a crash.
 *
 * The CUDA-build tests skip, saying why, where that build or its libraries are missing, unless
 * ALEXNET_CI=1. Everything here skips where a CUDA device is present (test/gpu covers that case).
 * getBackend caches its choice per process; vitest runs each test file in a fresh one.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { backendAvailability, cudaUnavailableReasons, defaultBackendChoice, getBackend } from '../lib/backend/backend';
import { CUDA_LIBRARIES, preloadCudaLibraries } from '../lib/backend/cudaLibraries';
import { addonRoot, loadCudaAddon } from '../lib/backend/load';
import { BackendError, BackendUnavailableError, callNative } from '../lib/errors';
import { Tensor } from '../lib/tensor';
import { ciRequiresEverything } from './helpers';

/** Where the CUDA build would be: a local build or a prebuilt binary. */
function cudaBuildPresent(): boolean {
  const root = addonRoot('cuda');
  if (existsSync(join(root, 'build', 'Release', 'alexnet_cuda.node'))) return true;
  const prebuilds = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  return existsSync(prebuilds) && readdirSync(prebuilds).some((f) => f.endsWith('.node'));
}

const buildPresent = cudaBuildPresent();
const loaded = loadCudaAddon();
const devicePresent = loaded.ok && loaded.addon.probe().available;

function skipReasonForCudaBuild(): string | null {
  if (devicePresent) return 'a CUDA device is present here (test/gpu covers that case)';
  if (ciRequiresEverything) return null;
  if (!buildPresent) return `no CUDA build under ${addonRoot('cuda')} (it needs nvcc 13, cuDNN 9 and cuBLAS 13: see CMakeLists.txt)`;
  if (!loaded.ok) return `the CUDA build's libraries are not found here: ${loaded.reasons.join('; ')}`;
  return null;
}

const noDeviceSkip = devicePresent ? 'a CUDA device is present here (test/gpu covers that case)' : null;
const cudaBuildSkip = skipReasonForCudaBuild();

/** Runs fn and returns what it threw. */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, none was thrown');
}

const savedEnv = { ALEXNET_BACKEND: process.env.ALEXNET_BACKEND, ALEXNET_QUIET: process.env.ALEXNET_QUIET };

afterEach(() => {
  for (const [key, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  vi.restoreAllMocks();
});

describe.skipIf(noDeviceSkip !== null)(
  `backend selection without a CUDA device${noDeviceSkip ? ` (skipped: ${noDeviceSkip})` : ''}`,
  () => {
    // First in the file: getBackend logs the fallback only the first time 'auto' is resolved.
    it("'auto' falls back to the CPU build and says why, once, on stderr", () => {
      delete process.env.ALEXNET_QUIET;
      const writes: string[] = [];
      vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
        writes.push(String(chunk));
        return true;
      });
      expect(getBackend('auto').kind).toBe('cpu');
      expect(getBackend('auto').kind).toBe('cpu');
      const fallback = writes.filter((w) => w.includes('using the CPU backend'));
      expect(fallback, `stderr: ${JSON.stringify(writes)}`).toHaveLength(1);
      expect(fallback[0]).toContain('CUDA unavailable');
      for (const reason of cudaUnavailableReasons()) expect(fallback[0]).toContain(reason);
    });

    it("getBackend('cuda') throws a BackendUnavailableError that lists what is missing and how to get it", () => {
      const error = thrownBy(() => getBackend('cuda'));
      expect(error).toBeInstanceOf(BackendUnavailableError);
      expect(error).toBeInstanceOf(BackendError);
      const e = error as BackendUnavailableError;
      expect(e.code).toBe('ERR_BACKEND_UNAVAILABLE');
      expect(e.reasons.length).toBeGreaterThan(0);
      for (const reason of e.reasons) {
        expect(e.message).toContain(reason);
        // A missing library is named with how to get it.
        if (/lib\w+\.so\.\d+/.test(reason)) expect(reason).toMatch(/install|pip|rebuild/);
      }
      if (!buildPresent) {
        expect(e.reasons.join('\n')).toMatch(/no CUDA build/);
        expect(e.reasons.join('\n')).toMatch(/npm rebuild/);
      } else {
        // The real reason first: no driver (then nothing else matters), else no GPU, else what is missing.
        const driverMissing = loaded.libraries!.missing.some((m) => m.library.soname === 'libcuda.so.1');
        if (driverMissing) {
          expect(e.reasons[0]).toMatch(/^no NVIDIA driver: libcuda\.so\.1 was not found.*install the NVIDIA driver/);
          expect(e.reasons[0]).not.toMatch(/pip/);
        } else if (loaded.ok) {
          expect(e.reasons.at(-1)).toMatch(/no usable CUDA device/);
        }
        for (const reason of e.reasons.slice(driverMissing ? 1 : 0))
          expect(reason).toMatch(/not found: |failed to load|no usable CUDA device|^no GPU/);
      }
      // Asking again gives the same answer (nothing half-initialized is cached).
      expect(thrownBy(() => getBackend('cuda'))).toBeInstanceOf(BackendUnavailableError);
    });

    it('backendAvailability() says the CPU is available and CUDA is not, with the same reasons', () => {
      const availability = backendAvailability();
      expect(availability.cpu).toEqual({ available: true, reasons: [] });
      expect(availability.cuda.available).toBe(false);
      expect(availability.cuda.reasons).toEqual(cudaUnavailableReasons());
      expect(availability.cuda.reasons.length).toBeGreaterThan(0);
    });

    it('ALEXNET_BACKEND chooses the default backend; a bad value is a TypeError naming the variable', () => {
      for (const bad of ['gpu', 'CUDA', ' cpu', 'none']) {
        process.env.ALEXNET_BACKEND = bad;
        for (const call of [() => defaultBackendChoice(), () => getBackend(), () => Tensor.zeros([1])]) {
          const error = thrownBy(call);
          expect(error).toBeInstanceOf(TypeError);
          expect((error as Error).message).toContain('ALEXNET_BACKEND');
          expect((error as Error).message).toContain(JSON.stringify(bad));
        }
      }
      process.env.ALEXNET_BACKEND = 'cpu';
      expect(getBackend().kind).toBe('cpu');
      process.env.ALEXNET_BACKEND = 'auto';
      expect(getBackend().kind).toBe('cpu');
      process.env.ALEXNET_BACKEND = '';
      expect(defaultBackendChoice()).toBe('auto');
      process.env.ALEXNET_BACKEND = 'cuda';
      expect(thrownBy(() => getBackend())).toBeInstanceOf(BackendUnavailableError);
      expect(thrownBy(() => Tensor.zeros([1]))).toBeInstanceOf(BackendUnavailableError);
    });

    it('a bad backend argument is a TypeError naming the parameter', () => {
      const error = thrownBy(() => getBackend('gpu' as never));
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(/backend must be 'auto', 'cpu' or 'cuda', got "gpu"/);
    });
  },
);

describe('the CUDA libraries: what each is and how to get it', () => {
  it('when none can be loaded, every one is reported missing with instructions', () => {
    const report = preloadCudaLibraries(() => 'not found (simulated)');
    const missing = report.missing.map((m) => m.library.soname);
    expect(missing).toEqual(['libcuda.so.1', ...CUDA_LIBRARIES.map((l) => l.soname)]);
    expect(missing).toEqual(expect.arrayContaining(['libcudart.so.13', 'libcublas.so.13', 'libcudnn.so.9']));
    for (const m of report.missing) {
      expect(m.library.howToGet).toMatch(/install/);
      expect(m.error).toBe('not found (simulated)');
    }
    expect(report.loaded).toEqual({});
  });
});

describe.skipIf(cudaBuildSkip !== null)(
  `the CUDA build on a machine without a CUDA device${cudaBuildSkip ? ` (skipped: ${cudaBuildSkip})` : ''}`,
  () => {
    it('loads, with every CUDA library but the driver found', () => {
      expect(buildPresent, `no CUDA build under ${addonRoot('cuda')}`).toBe(true);
      expect(loaded.ok, loaded.ok ? '' : loaded.reasons.join('; ')).toBe(true);
      if (!loaded.ok) return;
      expect(loaded.addon.backendName).toBe('cuda');
      for (const library of CUDA_LIBRARIES) expect(Object.keys(loaded.libraries.loaded)).toContain(library.soname);
    });

    it('reports "no CUDA device" from probe(), every time, without throwing', () => {
      if (!loaded.ok) throw new Error(loaded.reasons.join('; '));
      const first = loaded.addon.probe();
      expect(first.available).toBe(false);
      expect(first.reason).toMatch(/no CUDA device/);
      expect(loaded.addon.probe()).toEqual(first);
    });

    it('turns every call that needs the device into a BackendUnavailableError naming the reason', () => {
      if (!loaded.ok) throw new Error(loaded.reasons.join('; '));
      const addon = loaded.addon;
      const calls: (() => unknown)[] = [() => addon.info(), () => new addon.Tensor([2], 'float32'), () => addon.allocatorStats()];
      for (const call of calls) {
        const error = thrownBy(() => callNative(call));
        expect(error).toBeInstanceOf(BackendUnavailableError);
        expect((error as Error).message).toMatch(/the cuda backend is unavailable: no CUDA device/);
      }
    });
  },
);
