/**
 * The shape of the native addon as TypeScript sees it. Both builds (alexnet_cpu.node and
 * alexnet_cuda.node) export exactly this; see native/binding/ for the C++ side.
 * @internal
 * @module
 */

export type NativeDType = 'float32' | 'int32' | 'uint8';

export interface NativeTensor {
  readonly shape: number[];
  readonly dtype: NativeDType;
  readonly numel: number;
  readonly disposed: boolean;
  upload(data: Float32Array | Int32Array | Uint8Array): void;
  download(): Promise<Float32Array | Int32Array | Uint8Array>;
  view(shape: readonly number[]): NativeTensor;
  /** numel(shape) elements from element `offset`, sharing (and keeping alive) this tensor's memory. */
  slice(offset: number, shape: readonly number[]): NativeTensor;
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

/** SGD's fixed options; the learning rate and the step count are step scalars (a tensor). */
export interface NativeSgdOptions {
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

/** The options of adamStep (op_params.h's AdamParams); decoupled is AdamW's weight decay. */
export interface NativeAdamOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  decoupled: boolean;
}

/** Normalization of the preprocess op: per output channel (or one for all), inverse std precomputed. */
export interface NativeNormalize {
  mean: number[];
  invStd: number[];
}

/**
 * A graph (native/binding/graph_handle.h): a memory pool of its own and, once captured, recorded
 * work that launch() queues again.
 */
export interface NativeGraph {
  readonly captured: boolean;
  beginWarmup(): void;
  endWarmup(): void;
  beginCapture(): void;
  /** Throws an Error with code ERR_CAPTURE when the capture failed (the graph stays uncaptured). */
  endCapture(): void;
  launch(): void;
  dispose(): void;
}

/** An opaque point in the backend's queue (mark()). */
export type NativeMark = { readonly __mark: unique symbol };

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
  Graph: new () => NativeGraph;
  probe(): { available: boolean; reason?: string };
  info(): Record<string, string | number | boolean>;
  /** 'bf16' runs convolutions and GEMMs as 'tf32' does (exact on bf16-rounded operands); the rounding is lib/ops/bfloat16.ts's. */
  setMathMode(mode: 'fp32' | 'tf32' | 'bf16'): void;
  setDeterministic(on: boolean): void;
  allocatorStats(): NativeAllocatorStats;
  emptyCache(): void;
  synchronize(): Promise<void>;
  synchronizeBlocking(): void;
  /** A point in the queue; msBetween(a, b) waits for b and gives the device's own time from a to b. */
  mark(): NativeMark;
  msBetween(start: NativeMark, end: NativeMark): number;
  loadSharedLibrary(path: string): string | null;
  /**
   * TEST-ONLY, for the CPU suite's failure tests: the next call of the op of that JavaScript name
   * (e.g. 'conv2dForward') fails where the op runs, on the CPU build's queue, with an
   * OutOfMemoryError, a DeviceLostError or a BackendError, instead of running. Inert until called; the CUDA build throws.
   */
  testFailNextOp(op: string, kind: 'backend' | 'outOfMemory' | 'deviceLost'): void;

  conv2dForward(x: T, w: T, b: T | null, g: NativeConvGeometry, fuseRelu: boolean): T;
  conv2dBackwardData(dy: T, w: T, g: NativeConvGeometry, inputShape: readonly number[]): T;
  conv2dBackwardFilter(
    x: T,
    dy: T,
    g: NativeConvGeometry,
    weightShape: readonly number[],
    withBias: boolean,
    dwOut?: T | null,
    dbOut?: T | null,
  ): [T, T | null];
  lrnForward(x: T, p: NativeLrnParams): T;
  lrnBackward(x: T, y: T, dy: T, p: NativeLrnParams): T;
  maxPool2dForward(x: T, g: NativePoolGeometry): T;
  maxPool2dBackward(x: T, y: T, dy: T, g: NativePoolGeometry): T;
  adaptiveAvgPool2dForward(x: T, outH: number, outW: number): T;
  adaptiveAvgPool2dBackward(dy: T, inputShape: readonly number[]): T;
  reluForward(x: T): T;
  reluBackward(y: T, dy: T): T;
  /** Seed and offset are read from `scalars` (int32 [4], a DropoutScalars) when the op runs. */
  dropoutForward(x: T, p: number, scalars: T): [T, T];
  multiply(a: T, b: T): T;
  linearForward(x: T, w: T, b: T | null, fuseRelu: boolean): T;
  linearBackwardData(dy: T, w: T): T;
  linearBackwardWeight(x: T, dy: T, withBias: boolean, dwOut?: T | null, dbOut?: T | null): [T, T | null];
  /** relu(x wᵀ + b) and the ReLU's mask (int32, the backend's own bit layout). */
  linearForwardReluMask(x: T, w: T, b: T): [T, T];
  /** (dy w) where the mask is set, and its column sums (the masked layer's bias gradient). */
  linearBackwardDataRelu(dy: T, w: T, mask: T, dbOut?: T | null): [T, T];
  softmaxForward(x: T): T;
  softmaxCrossEntropy(logits: T, labels: T, withGrad: boolean): [T, T | null];
  countTopkCorrect(logits: T, labels: T, k: number, counter: T): void;
  copy(dst: T, src: T): void;
  /** dst = src rounded to bfloat16 (nearest, ties to even), stored as float32; dst may be src. */
  roundToBfloat16(dst: T, src: T): void;
  addScaled(dst: T, src: T, alpha: number): void;
  /** The uint64 at int32 words [word, word + 1] of t += increment. */
  advanceCounter(t: T, word: number, increment: number | bigint): void;
  /** lr and the step count are read from `scalars` (int32 [4], an SgdScalars) when the update runs. */
  sgdStep(params: T[], grads: T[], buffers: T[] | null, options: NativeSgdOptions, scalars: T): void;
  /** lr (a double) and the step count are read from `scalars` (int32 [4], an AdamScalars) when the update runs. */
  adamStep(params: T[], grads: T[], expAvgs: T[], expAvgSqs: T[], options: NativeAdamOptions, scalars: T): void;
  /** uint8 [N, C, H, W] image bytes to float32 [N, outChannels, outHeight, outWidth] (see lib/data/devicePreprocess.ts). */
  preprocess(x: T, outChannels: number, outHeight: number, outWidth: number, normalize: NativeNormalize | null): T;

  // Shape queries: an op's output shape from its input shapes, with the op's own shape checks (a
  // RangeError naming the parameter when they fail), without running it.
  /** [N, outChannels, OH, OW] of conv2dForward. */
  conv2dOutputShape(inputShape: readonly number[], weightShape: readonly number[], g: NativeConvGeometry): number[];
  /** [N, C, OH, OW] of maxPool2dForward. */
  pool2dOutputShape(inputShape: readonly number[], g: NativePoolGeometry): number[];
  /** [N, outFeatures] of linearForward. */
  linearOutputShape(inputShape: readonly number[], weightShape: readonly number[]): number[];
}
