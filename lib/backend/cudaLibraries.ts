/**
 * Finding the CUDA libraries the CUDA build links against: the driver (libcuda.so.1), the CUDA 13
 * runtime, cuBLAS 13 and cuDNN 9. Each is looked for first where the system's loader looks
 * (ldconfig's cache, LD_LIBRARY_PATH), then in the folders pip installs NVIDIA's wheels into
 * (ALEXNET_CUDA_LIBS, then every Python site-packages folder), then in the CUDA toolkit
 * (CUDA_HOME, /usr/local/cuda). Found libraries are loaded with RTLD_GLOBAL before the addon, so
 * that the addon's own dependencies resolve to them by soname.
 * @module
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** One library the CUDA build needs, with what to do when it is missing. */
export interface CudaLibrary {
  soname: string;
  what: string;
  howToGet: string;
}

const DRIVER: CudaLibrary = {
  soname: 'libcuda.so.1',
  what: 'the NVIDIA driver',
  howToGet: 'install the NVIDIA driver, version 580 or newer (it provides CUDA 13)',
};

/** In load order: each library's dependencies come before it. */
export const CUDA_LIBRARIES: readonly CudaLibrary[] = [
  {
    soname: 'libcudart.so.13',
    what: 'the CUDA 13 runtime',
    howToGet: "pip install 'nvidia-cuda-runtime==13.*', or install the CUDA 13 toolkit",
  },
  {
    soname: 'libcublasLt.so.13',
    what: 'cuBLASLt 13',
    howToGet: "pip install 'nvidia-cublas==13.*', or install the CUDA 13 toolkit (libcublas)",
  },
  {
    soname: 'libcublas.so.13',
    what: 'cuBLAS 13',
    howToGet: "pip install 'nvidia-cublas==13.*', or install the CUDA 13 toolkit (libcublas)",
  },
  {
    soname: 'libcudnn.so.9',
    what: 'cuDNN 9',
    howToGet: 'pip install nvidia-cudnn-cu13, or install the system package libcudnn9-cuda-13',
  },
];

// cuDNN 9 loads these itself at run time; loading them first lets it find pip's copies.
const CUDNN_PARTS = [
  'libcudnn_graph.so.9',
  'libcudnn_engines_precompiled.so.9',
  'libcudnn_engines_runtime_compiled.so.9',
  'libcudnn_heuristic.so.9',
  'libcudnn_ops.so.9',
  'libcudnn_cnn.so.9',
  'libcudnn_adv.so.9',
];

function pythonSitePackages(): string[] {
  for (const python of ['python3', 'python']) {
    try {
      const out = execFileSync(python, ['-c', 'import json, sys; print(json.dumps(sys.path))'], {
        encoding: 'utf8',
        timeout: 5000,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      return (JSON.parse(out) as string[]).filter((p) => p.length > 0);
    } catch {
      // try the next interpreter name
    }
  }
  return [];
}

/** Folders to search, in order, after the system loader's own search. */
export function cudaLibraryFolders(env: NodeJS.ProcessEnv = process.env): string[] {
  const roots: string[] = [];
  if (env.ALEXNET_CUDA_LIBS) roots.push(...env.ALEXNET_CUDA_LIBS.split(path.delimiter));
  roots.push(...pythonSitePackages());
  const folders: string[] = [];
  for (const root of roots) {
    for (const sub of ['nvidia/cu13/lib', 'nvidia/cudnn/lib', 'nvidia/cublas/lib', 'nvidia/cuda_runtime/lib']) {
      const dir = path.join(root, sub);
      if (fs.existsSync(dir)) folders.push(dir);
    }
  }
  for (const home of [env.CUDA_HOME, env.CUDA_PATH, '/usr/local/cuda']) {
    if (home) folders.push(path.join(home, 'lib64'), path.join(home, 'targets/x86_64-linux/lib'));
  }
  return [...new Set(folders)].filter((dir) => fs.existsSync(dir));
}

export interface CudaLibraryReport {
  /** Libraries that could not be loaded, with how to get each. */
  missing: { library: CudaLibrary; error: string }[];
  /** Where each library was loaded from ('system' when the loader's own search found it). */
  loaded: Record<string, string>;
}

/**
 * Loads the driver and the CUDA libraries with `load` (the CPU addon's loadSharedLibrary, which
 * returns null on success or the loader's error text). Safe to call more than once.
 */
export function preloadCudaLibraries(load: (file: string) => string | null): CudaLibraryReport {
  const report: CudaLibraryReport = { missing: [], loaded: {} };
  let folders: string[] | undefined;
  const tryLoad = (soname: string): string | null => {
    const systemError = load(soname);
    if (systemError === null) {
      report.loaded[soname] = 'system';
      return null;
    }
    folders ??= cudaLibraryFolders();
    for (const dir of folders) {
      const file = path.join(dir, soname);
      if (fs.existsSync(file) && load(file) === null) {
        report.loaded[soname] = file;
        return null;
      }
    }
    return systemError;
  };
  const driverError = tryLoad(DRIVER.soname);
  if (driverError !== null) report.missing.push({ library: DRIVER, error: driverError });
  for (const library of CUDA_LIBRARIES) {
    if (library.soname === 'libcudnn.so.9') for (const part of CUDNN_PARTS) tryLoad(part);
    const error = tryLoad(library.soname);
    if (error !== null) report.missing.push({ library, error });
  }
  return report;
}
