/**
 * Loading the two builds of the native addon with node-gyp-build. Each lives in its own root,
 * addons/cpu and addons/cuda (build/Release for a local build, prebuilds/<platform>-<arch> for the
 * published binaries), so the CPU build loads on machines that have no CUDA library at all.
 * @internal
 * @module
 */
import * as path from 'node:path';

import { preloadCudaLibraries, type CudaLibraryReport } from './cudaLibraries';
import type { NativeAddon } from './native';
import { packageRoot } from './packageRoot';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeGypBuild = require('node-gyp-build') as ((dir: string) => unknown) & { resolve(dir: string): string };

export type Flavour = 'cpu' | 'cuda';

export function addonRoot(flavour: Flavour): string {
  return path.join(packageRoot(), 'addons', flavour);
}

let cpuAddon: NativeAddon | undefined;

/** The CPU build; it always exists (a prebuilt binary, or built at install time). */
export function loadCpuAddon(): NativeAddon {
  cpuAddon ??= nodeGypBuild(addonRoot('cpu')) as NativeAddon;
  return cpuAddon;
}

/**
 * An addon for the backend-free functions (the shape queries): the CPU build, or the CUDA build
 * where only that one loads. Throws the CPU build's load error when neither does.
 */
export function loadAnyAddon(): NativeAddon {
  try {
    return loadCpuAddon();
  } catch (error) {
    const cuda = loadCudaAddon();
    if (cuda.ok) return cuda.addon;
    throw error;
  }
}

export type CudaLoadResult =
  { ok: true; addon: NativeAddon; libraries: CudaLibraryReport } | { ok: false; reasons: string[]; libraries?: CudaLibraryReport };

let cudaResult: CudaLoadResult | undefined;

/**
 * The CUDA build, after loading the CUDA libraries it needs. Never throws: when it cannot load,
 * `reasons` says what is missing and how to get each.
 */
export function loadCudaAddon(): CudaLoadResult {
  if (cudaResult) return cudaResult;
  let file: string;
  try {
    file = nodeGypBuild.resolve(addonRoot('cuda'));
  } catch {
    return (cudaResult = {
      ok: false,
      reasons: [
        'this installation has no CUDA build of alexnet-cuda (no prebuilt binary for this platform, and it was ' +
          'built without nvcc, cuDNN 9 and cuBLAS 13): install them and run `npm rebuild alexnet-cuda`',
      ],
    });
  }
  // The CPU build's loadSharedLibrary preloads the CUDA libraries from pip's folders. Where the CPU
  // build itself cannot load (a GPU machine given only the CUDA build, without oneDNN), the system
  // loader must find them, and the require below says which it did not.
  let cpu: NativeAddon | null = null;
  try {
    cpu = loadCpuAddon();
  } catch {
    cpu = null;
  }
  const libraries: CudaLibraryReport = cpu ? preloadCudaLibraries((lib) => cpu.loadSharedLibrary(lib)) : { missing: [], loaded: {} };
  const missingLibraries = libraries.missing.filter((m) => m.library.soname !== 'libcuda.so.1');
  if (missingLibraries.length > 0) {
    return (cudaResult = {
      ok: false,
      libraries,
      reasons: missingLibraries.map((m) => `${m.library.soname} (${m.library.what}) not found: ${m.library.howToGet}`),
    });
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const addon = require(file) as NativeAddon;
    return (cudaResult = { ok: true, addon, libraries });
  } catch (error) {
    return (cudaResult = {
      ok: false,
      libraries,
      reasons: [`the CUDA build at ${file} failed to load: ${(error as Error).message}`],
    });
  }
}
