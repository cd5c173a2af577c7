/**
 * The shape of the native addon as TypeScript sees it. Both builds (alexnet_cpu.node and
 * alexnet_cuda.node) export exactly this; see native/binding/ for the C++ side.
 * @internal
 * @module
 */

export type NativeDType = 'float32' | 'int32';

export interface NativeTensor {
  readonly shape: number[];
  readonly dtype: NativeDType;
  readonly numel: number;
  readonly disposed: boolean;
  upload(data: Float32Array | Int32Array): void;
  download(): Promise<Float32Array | Int32Array>;
  view(shape: readonly number[]): NativeTensor;
  dispose(): void;
  fill(value: number): NativeTensor;
  fillUniform(low: number, high: number, seed: number | bigint): NativeTensor;
  /** `truncation` > 0 redraws values more than that many standard deviations from the mean. */
  fillNormal(mean: number, std: number, seed: number | bigint, truncation: number): NativeTensor;
}

export interface NativeConvGeometry {
  strideH: number;
  strideW: number;
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
  groups: number;
}

export interface NativePoolGeometry {
  kernelH: number;
  kernelW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
}

/** LRN parameters, alpha in PyTorch's and cuDNN's convention (divided by size inside). */
export interface NativeLrnParams {
  size: number;
  alpha: number;
  beta: number;
  k: number;
}

export interface NativeSgdOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  firstStep: boolean;
}

/**
 * Counters of a backend's caching allocator (the CPU build sums those of its allocators); public as
 * `MemoryStats`, and inlined wherever the documentation would otherwise refer to this internal name.
 * @inline
 */
export interface NativeAllocatorStats {
  /** Blocks requested from the system (cudaMalloc or the C library) so far; a steady training loop adds none. */
  systemAllocations: number;
  /** Blocks returned to the system so far (by `emptyCache()`, or to retry an allocation that failed). */
  systemFrees: number;
  /** Bytes held by live tensors. */
  bytesInUse: number;
  /** Bytes freed by tensors and kept by the cache for reuse (released by `emptyCache()`). */
  bytesCached: number;
  /** The highest `bytesInUse` seen since the backend was loaded. */
  peakBytesInUse: number;
}

type T = NativeTensor;

export interface NativeAddon {
  readonly backendName: 'cpu' | 'cuda';
  Tensor: new (shape: readonly number[], dtype: NativeDType) => NativeTensor;
  probe(): { available: boolean; reason?: string };
  info(): Record<string, string | number | boolean>;
  setMathMode(mode: 'fp32' | 'tf32'): void;
  setDeterministic(on: boolean): void;
  allocatorStats(): NativeAllocatorStats;
  emptyCache(): void;
  synchronize(): Promise<void>;
  synchronizeBlocking(): void;
  loadSharedLibrary(path: string): string | null;
  /**
   * TEST-ONLY, for the CPU suite's failure tests: the next call of the op of that JavaScript name
   * (e.g. 'conv2dForward') fails where the op runs, on the CPU build's queue, with an
   * OutOfMemoryError or a BackendError, instead of running. Inert until called; the CUDA build throws.
   */
  testFailNextOp(op: string, kind: 'backend' | 'outOfMemory'): void;

  conv2dForward(x: T, w: T, b: T | null, g: NativeConvGeometry, fuseRelu: boolean): T;
  conv2dBackwardData(dy: T, w: T, g: NativeConvGeometry, inputShape: readonly number[]): T;
  conv2dBackwardFilter(x: T, dy: T, g: NativeConvGeometry, weightShape: readonly number[], withBias: boolean): [T, T | null];
  lrnForward(x: T, p: NativeLrnParams): T;
  lrnBackward(x: T, y: T, dy: T, p: NativeLrnParams): T;
  maxPool2dForward(x: T, g: NativePoolGeometry): T;
  maxPool2dBackward(x: T, y: T, dy: T, g: NativePoolGeometry): T;
  adaptiveAvgPool2dForward(x: T, outH: number, outW: number): T;
  adaptiveAvgPool2dBackward(dy: T, inputShape: readonly number[]): T;
  reluForward(x: T): T;
  reluBackward(y: T, dy: T): T;
  dropoutForward(x: T, p: number, seed: number | bigint, offset: number | bigint): [T, T];
  multiply(a: T, b: T): T;
  linearForward(x: T, w: T, b: T | null, fuseRelu: boolean): T;
  linearBackwardData(dy: T, w: T): T;
  linearBackwardWeight(x: T, dy: T, withBias: boolean): [T, T | null];
  softmaxForward(x: T): T;
  softmaxCrossEntropy(logits: T, labels: T, withGrad: boolean): [T, T | null];
  countTopkCorrect(logits: T, labels: T, k: number, counter: T): void;
  copy(dst: T, src: T): void;
  addScaled(dst: T, src: T, alpha: number): void;
  sgdStep(params: T[], grads: T[], buffers: T[] | null, options: NativeSgdOptions): void;

  // Shape queries: an op's output shape from its input shapes, with the op's own shape checks (a
  // RangeError naming the parameter when they fail), without running it.
  /** [N, outChannels, OH, OW] of conv2dForward. */
  conv2dOutputShape(inputShape: readonly number[], weightShape: readonly number[], g: NativeConvGeometry): number[];
  /** [N, C, OH, OW] of maxPool2dForward. */
  pool2dOutputShape(inputShape: readonly number[], g: NativePoolGeometry): number[];
  /** [N, outFeatures] of linearForward. */
  linearOutputShape(inputShape: readonly number[], weightShape: readonly number[]): number[];
}
