/**
 * Backends and how one is chosen. `auto` (the default, or ALEXNET_BACKEND=auto) uses the CUDA build
 * when it loads and finds a device, else the CPU build, and says once, on stderr, why it fell back.
 * Asking for `cuda` where it cannot work throws a {@link BackendUnavailableError} listing what is
 * missing (driver, libcudart.so.13, libcublas.so.13, libcudnn.so.9, a device) and how to get each.
 * @module
 */
import { readdirSync } from 'node:fs';

import { BackendUnavailableError, callNative, translateNativeError } from '../errors';
import { loadCpuAddon, loadCudaAddon } from './load';
import type { NativeAddon, NativeAllocatorStats } from './native';

/** A concrete backend. */
export type BackendKind = 'cpu' | 'cuda';
/** What a user may ask for. */
export type BackendChoice = BackendKind | 'auto';
/**
 * The precision a backend computes in (`--precision` on the CLI):
 * - `fp32` (the default): strict fp32 everywhere;
 * - `tf32`: convolutions and GEMMs on the GPU in TF32 tensor-core arithmetic (the CPU stays fp32);
 * - `bf16`: mixed precision. Activations, their gradients and the operands of convolutions and
 *   GEMMs are rounded to bfloat16 (round to nearest even); sums accumulate in fp32; parameters,
 *   weight and bias gradients, optimizer state, the loss and softmax stay fp32. Both backends
 *   round at the same points (see the README's precision section for what is emulated).
 */
export type MathMode = 'fp32' | 'tf32' | 'bf16';

/** The precisions {@link Backend.setMathMode} accepts, in the order the CLI lists them. */
export const MATH_MODES: readonly MathMode[] = Object.freeze(['fp32', 'tf32', 'bf16'] as const);

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
   * Chooses strict fp32 (the default: results match PyTorch's fp32 within 1e-4), TF32 tensor-core
   * math for convolutions and GEMMs (about 1e-3 relative, much faster on Ampere and newer; the CPU
   * backend computes those in fp32), or bf16 mixed precision (activations and the operands of
   * convolutions and GEMMs rounded to bfloat16, fp32 sums, fp32 parameters and optimizer state;
   * about 1e-2 relative per op, on both backends). Ops already queued keep the mode they were
   * queued in.
   */
  setMathMode(mode: MathMode): void {
    if (!MATH_MODES.includes(mode)) {
      throw new TypeError(`setMathMode: mode must be 'fp32', 'tf32' or 'bf16', got ${JSON.stringify(mode)}`);
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

/** GPUs the NVIDIA driver lists in /proc (null where that cannot be read, as on machines without the driver). */
function driverGpuCount(): number | null {
  try {
    return readdirSync('/proc/driver/nvidia/gpus').length;
  } catch {
    return null;
  }
}

/**
 * Why the CUDA backend cannot run here, the real reason first (no CUDA build, no NVIDIA driver, no
 * GPU, a missing library), then what else would be needed; an empty list when it can run.
 */
export function cudaUnavailableReasons(): string[] {
  const loaded = loadCudaAddon();
  const libraries = loaded.libraries;
  if (!libraries) return loaded.ok ? [] : loaded.reasons; // no CUDA build at all
  const driver = libraries.missing.find((m) => m.library.soname === 'libcuda.so.1');
  const reasons: string[] = [];
  if (driver) {
    // Nothing else matters without a driver: say so first, and only then what a GPU machine would also need.
    reasons.push(
      `no NVIDIA driver: libcuda.so.1 was not found, so this machine has no NVIDIA GPU or its driver is not installed; ` +
        `to use a GPU, first ${driver.library.howToGet}`,
    );
  } else if (driverGpuCount() === 0) {
    reasons.push('no GPU: the NVIDIA driver is installed but lists no GPU (/proc/driver/nvidia/gpus is empty)');
  }
  if (!loaded.ok) return [...reasons, ...loaded.reasons];
  const probe = loaded.addon.probe();
  if (probe.available) return [];
  reasons.push(`no usable CUDA device: ${probe.reason ?? 'unknown reason'}`);
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
      throw new BackendUnavailableError(`the CUDA backend cannot run here:\n  - ${reasons.join('\n  - ')}`, reasons);
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
