/**
 * Where the CUDA libraries are looked for, and in which order (lib/backend/cudaLibraries.ts): the
 * system loader first, then ALEXNET_CUDA_LIBS (its folders in order), then Python's site-packages,
 * then the CUDA toolkit (CUDA_HOME, CUDA_PATH, /usr/local/cuda). Checked with fake folder trees and
 * a fake loader, so it runs anywhere. And how native errors become this library's error classes.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { CUDA_LIBRARIES, cudaLibraryFolders, preloadCudaLibraries } from '../../lib/backend/cudaLibraries';
import { BackendError, BackendUnavailableError, DeviceLostError, OutOfMemoryError, translateNativeError } from '../../lib/errors';

const root = mkdtempSync(join(tmpdir(), 'alexnet-cudalibs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function folder(...parts: string[]): string {
  const dir = join(root, ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}

describe('CUDA library search order', () => {
  const pipA = folder('pipA');
  const pipB = folder('pipB');
  const aCu13 = folder('pipA', 'nvidia', 'cu13', 'lib');
  const aCudnn = folder('pipA', 'nvidia', 'cudnn', 'lib');
  const bCu13 = folder('pipB', 'nvidia', 'cu13', 'lib');
  const cudaHome = folder('toolkit');
  const toolkitLib = folder('toolkit', 'lib64');
  const env = { ALEXNET_CUDA_LIBS: `${pipA}:${pipB}`, CUDA_HOME: cudaHome };

  it("ALEXNET_CUDA_LIBS' folders come first, in order, then the toolkit; missing folders are left out", () => {
    const folders = cudaLibraryFolders(env);
    for (const dir of [aCu13, aCudnn, bCu13, toolkitLib]) expect(folders).toContain(dir);
    expect(folders.indexOf(aCu13)).toBeLessThan(folders.indexOf(bCu13));
    expect(folders.indexOf(aCudnn)).toBeLessThan(folders.indexOf(bCu13));
    expect(folders.indexOf(bCu13)).toBeLessThan(folders.indexOf(toolkitLib));
    expect(folders.some((dir) => dir.startsWith(join(pipB, 'nvidia', 'cudnn')))).toBe(false);
    expect(new Set(folders).size).toBe(folders.length);
  });

  it("the system loader's own search is tried first; a folder only when it fails; dependencies load before dependants", () => {
    const attempts: string[] = [];
    // The system finds the runtime; cuBLAS and cuBLASLt only exist in the second pip folder (the
    // first has a file of that name that fails to load); cuDNN and the driver nowhere.
    const present = new Set([join(bCu13, 'libcublas.so.13'), join(bCu13, 'libcublasLt.so.13'), join(aCu13, 'libcublas.so.13')]);
    for (const file of present) mkdirSync(file, { recursive: true }); // exists on disk (existsSync is all the search asks)
    const load = (file: string): string | null => {
      attempts.push(file);
      if (file === 'libcudart.so.13' || file === join(bCu13, 'libcublas.so.13') || file === join(bCu13, 'libcublasLt.so.13')) return null;
      return `${file}: cannot open shared object file`;
    };
    const previous = process.env.ALEXNET_CUDA_LIBS;
    const previousHome = process.env.CUDA_HOME;
    process.env.ALEXNET_CUDA_LIBS = env.ALEXNET_CUDA_LIBS;
    process.env.CUDA_HOME = env.CUDA_HOME;
    try {
      const report = preloadCudaLibraries(load);
      expect(report.loaded['libcudart.so.13']).toBe('system');
      expect(report.loaded['libcublas.so.13']).toBe(join(bCu13, 'libcublas.so.13'));
      expect(report.loaded['libcublasLt.so.13']).toBe(join(bCu13, 'libcublasLt.so.13'));
      expect(report.missing.map((m) => m.library.soname)).toEqual(['libcuda.so.1', 'libcudnn.so.9']);
      // The first pip folder's copy was tried (and failed) before the second's.
      expect(attempts.indexOf(join(aCu13, 'libcublas.so.13'))).toBeLessThan(attempts.indexOf(join(bCu13, 'libcublas.so.13')));
      // Each library's bare soname (the system search) is tried before any folder.
      for (const { soname } of CUDA_LIBRARIES) {
        const firstFolder = attempts.findIndex((a) => a.endsWith(`/${soname}`));
        if (firstFolder >= 0) expect(attempts.indexOf(soname)).toBeLessThan(firstFolder);
      }
      // The driver first, then the libraries in dependency order.
      const order = ['libcuda.so.1', ...CUDA_LIBRARIES.map((l) => l.soname)].map((s) => attempts.indexOf(s));
      expect([...order].sort((a, b) => a - b)).toEqual(order);
    } finally {
      if (previous === undefined) delete process.env.ALEXNET_CUDA_LIBS;
      else process.env.ALEXNET_CUDA_LIBS = previous;
      if (previousHome === undefined) delete process.env.CUDA_HOME;
      else process.env.CUDA_HOME = previousHome;
    }
  });
});

describe('native errors become the library error classes by their code', () => {
  const native = (code: string, message: string) => Object.assign(new Error(message), { code });

  it('maps each code to its class, keeping the message; other errors pass through', () => {
    const cases: [string, new (...args: never[]) => Error][] = [
      ['ERR_DEVICE_LOST', DeviceLostError],
      ['ERR_OUT_OF_MEMORY', OutOfMemoryError],
      ['ERR_BACKEND', BackendError],
      ['ERR_BACKEND_UNAVAILABLE', BackendUnavailableError],
    ];
    for (const [code, kind] of cases) {
      const translated = translateNativeError(native(code, `cudaMemcpyAsync failed: ${code}`)) as Error & { code: string };
      expect(translated).toBeInstanceOf(kind);
      expect(translated.constructor).toBe(kind);
      expect(translated.code).toBe(code);
      expect(translated.message).toBe(`cudaMemcpyAsync failed: ${code}`);
    }
    const lost = translateNativeError(native('ERR_DEVICE_LOST', 'x')) as DeviceLostError;
    expect(lost).toBeInstanceOf(BackendError); // callers catching BackendError see it too
    const plain = new RangeError('conv2d: bad stride');
    expect(translateNativeError(plain)).toBe(plain);
    const already = new OutOfMemoryError('out of memory');
    expect(translateNativeError(already)).toBe(already);
  });
});
