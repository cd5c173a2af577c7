/**
 * Backends and how one is chosen. `auto` (the default, or ALEXNET_BACKEND=auto) uses the CUDA build
 * when it loads and finds a device, else the CPU build, and says once, on stderr, why it fell back.
 * Asking for `cuda` where it cannot work throws a {@link BackendUnavailableError} listing what is
 * missing (driver, libcudart.so.13, libcublas.so.13, libcudnn.so.9, a device) and how to get each.
 * @module
 */
import { BackendUnavailableError, callNative, translateNativeError } from '../errors';
import { loadCpuAddon, loadCudaAddon } from './load';
import type { NativeAddon, NativeAllocatorStats } from './native';

/** A concrete backend. */
export type BackendKind = 'cpu' | 'cuda';
/** What a user may ask for. */
export type BackendChoice = BackendKind | 'auto';
/** Arithmetic for convolutions and GEMMs on the GPU: strict fp32 (the default) or TF32 tensor cores. */
export type MathMode = 'fp32' | 'tf32';

/**
 * Memory held by a backend's caching allocator, in bytes and call counts (see {@link Backend.memoryStats}).
 * @interface
 */
export type MemoryStats = NativeAllocatorStats;

/** Facts about a backend: device name, memory, library versions (keys differ between CPU and CUDA). */
export type BackendInfo = Record<string, string | number | boolean>;

/** One build of the native addon, ready to run ops. Get one with {@link getBackend}. */
export class Backend {
  #mathMode: MathMode = 'fp32';
  #deterministic = false;

  /** @internal */
  constructor(
    /** Which build this is: 'cpu' (oneDNN) or 'cuda' (cuDNN and cuBLAS). */
    readonly kind: BackendKind,
    /** @internal */ readonly native: NativeAddon,
  ) {}

  /** Device name, memory, driver and library versions. */
  info(): BackendInfo {
    return callNative(() => this.native.info());
  }

  /**
   * Resolves once every op queued so far has run; rejects with the first failure of an op queued
   * since the previous synchronize() (a failure is reported here once, and always by reading the
   * tensors the op was to write), as a `BackendError` or one of its subclasses.
   */
  async synchronize(): Promise<void> {
    try {
      await this.native.synchronize();
    } catch (error) {
      throw translateNativeError(error);
    }
  }

  /** Memory held by this backend's caching allocator. */
  memoryStats(): MemoryStats {
    return callNative(() => this.native.allocatorStats());
  }

  /** Returns cached memory to the system (the device's driver, or the C library). */
  emptyCache(): void {
    callNative(() => this.native.emptyCache());
  }

  /** The current math mode. */
  get mathMode(): MathMode {
    return this.#mathMode;
  }

  /**
   * Chooses strict fp32 (the default: results match PyTorch's fp32 within 1e-4) or TF32 tensor-core
   * math (about 1e-3 relative, much faster on Ampere and newer) for convolutions and GEMMs. The CPU
   * backend always computes in fp32.
   */
  setMathMode(mode: MathMode): void {
    if (mode !== 'fp32' && mode !== 'tf32') {
      throw new TypeError(`setMathMode: mode must be 'fp32' or 'tf32', got ${JSON.stringify(mode)}`);
    }
    callNative(() => this.native.setMathMode(mode));
    this.#mathMode = mode;
  }

  /** Whether only deterministic algorithms are used (GPU: cuDNN's deterministic algorithms). */
  get deterministic(): boolean {
    return this.#deterministic;
  }

  /** Restricts the GPU to deterministic algorithms (the CPU backend always is deterministic). */
  setDeterministic(on: boolean): void {
    if (typeof on !== 'boolean') throw new TypeError(`setDeterministic: on must be a boolean, got ${typeof on}`);
    callNative(() => this.native.setDeterministic(on));
    this.#deterministic = on;
  }
}

const backends = new Map<BackendKind, Backend>();
let autoChoice: Backend | undefined;
let defaultChoice: BackendChoice | undefined;

/** Why the CUDA backend cannot run here, or an empty list when it can. */
export function cudaUnavailableReasons(): string[] {
  const loaded = loadCudaAddon();
  if (!loaded.ok) return loaded.reasons;
  const probe = loaded.addon.probe();
  if (probe.available) return [];
  const missingDriver = loaded.libraries.missing.find((m) => m.library.soname === 'libcuda.so.1');
  const reasons = [`no usable CUDA device: ${probe.reason ?? 'unknown reason'}`];
  if (missingDriver) reasons.push(`libcuda.so.1 (the NVIDIA driver) not found: ${missingDriver.library.howToGet}`);
  return reasons;
}

function parseChoice(value: unknown, where: string): BackendChoice {
  if (value === 'auto' || value === 'cpu' || value === 'cuda') return value;
  throw new TypeError(`${where} must be 'auto', 'cpu' or 'cuda', got ${JSON.stringify(value)}`);
}

function concrete(kind: BackendKind): Backend {
  const existing = backends.get(kind);
  if (existing) return existing;
  let backend: Backend;
  if (kind === 'cpu') {
    backend = new Backend('cpu', loadCpuAddon());
  } else {
    const reasons = cudaUnavailableReasons();
    if (reasons.length > 0) {
      throw new BackendUnavailableError(
        `the CUDA backend cannot run here:\n  - ${reasons.join('\n  - ')}`,
        reasons,
      );
    }
    const loaded = loadCudaAddon();
    if (!loaded.ok) throw new BackendUnavailableError('the CUDA backend cannot run here', loaded.reasons);
    backend = new Backend('cuda', loaded.addon);
  }
  backends.set(kind, backend);
  return backend;
}

/**
 * The backend for `choice` (default: the process default, see {@link setDefaultBackend}).
 * `auto` picks CUDA when it can run, else the CPU, logging the reason for the fallback once.
 */
export function getBackend(choice?: BackendChoice | Backend): Backend {
  if (choice instanceof Backend) return choice;
  const resolved = choice === undefined ? defaultBackendChoice() : parseChoice(choice, 'backend');
  if (resolved !== 'auto') return concrete(resolved);
  if (autoChoice) return autoChoice;
  const reasons = cudaUnavailableReasons();
  if (reasons.length === 0) {
    autoChoice = concrete('cuda');
  } else {
    autoChoice = concrete('cpu');
    if (process.env.ALEXNET_QUIET !== '1') {
      process.stderr.write(`alexnet-cuda: using the CPU backend (CUDA unavailable: ${reasons.join('; ')})\n`);
    }
  }
  return autoChoice;
}

/** The default choice: set by {@link setDefaultBackend}, else the ALEXNET_BACKEND variable, else 'auto'. */
export function defaultBackendChoice(): BackendChoice {
  if (defaultChoice) return defaultChoice;
  const fromEnv = process.env.ALEXNET_BACKEND;
  return fromEnv ? parseChoice(fromEnv, 'ALEXNET_BACKEND') : 'auto';
}

/** Sets the backend that tensors and models use when none is named. */
export function setDefaultBackend(choice: BackendChoice): void {
  defaultChoice = parseChoice(choice, 'setDefaultBackend: choice');
}

/** Whether each backend can run here, and if not, why. */
export function backendAvailability(): Record<
  BackendKind,
  {
    /** Whether {@link getBackend} can return this backend (always true for 'cpu'). */
    available: boolean;
    /** What is missing and how to get it; empty when available. */
    reasons: string[];
  }
> {
  const cuda = cudaUnavailableReasons();
  return { cpu: { available: true, reasons: [] }, cuda: { available: cuda.length === 0, reasons: cuda } };
}
