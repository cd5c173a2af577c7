/**
 * Tensors: n-dimensional float32 (or int32, for labels) arrays living in a backend's memory.
 * Creating and computing with tensors only queues work; reading values back with
 * {@link Tensor.toArray} is the one point that waits, and it never blocks the event loop.
 * A tensor's memory is freed by {@link Tensor.dispose}, or by garbage collection as a safety net.
 *
 * Failures: an op whose work fails after its call has returned (the CPU backend runs ops on a
 * worker thread) leaves the tensors it was to write poisoned. Reading one, with toArray or as an
 * input of another op, throws that op's error (a `BackendError` or `OutOfMemoryError` whose
 * message starts with the op's name), and ops queued on it before the failure was known
 * pass it on to their results; nothing else is blamed. Writing a poisoned tensor whole (copying
 * into it) makes it good again.
 * @module
 */
import { Backend, getBackend, type BackendChoice } from './backend/backend';
import type { NativeTensor } from './backend/native';
import { callNative, translateNativeError } from './errors';
import { describe, finiteNumber, isArray, nonNegativeInt, seedValue } from './validate';

/**
 * Element types: float32 for data and parameters, int32 for class labels, uint8 for image bytes on
 * their way to the device's preprocessing (lib/data/devicePreprocess.ts; no other op takes them).
 */
export type DType = 'float32' | 'int32' | 'uint8';

/** The element types ops compute with (a plain `Tensor` is one of these; uint8 tensors are `Tensor<'uint8'>`). */
export type NumericDType = 'float32' | 'int32';

/** The typed array that holds a tensor's values on the host. */
export type HostArray<D extends DType> = D extends 'int32' ? Int32Array : D extends 'uint8' ? Uint8Array : Float32Array;

/** Where a new tensor lives and what it holds. */
export interface TensorOptions<D extends DType = DType> {
  /** A backend or a choice ('auto', 'cpu', 'cuda'); default: the process default. */
  backend?: Backend | BackendChoice;
  /** Element type; default 'float32'. */
  dtype?: D;
}

/** Values nested as a tensor's shape nests them: a number for a 0-D tensor, else an array of one less rank per element. */
export type NestedArray = number | NestedArray[];

/**
 * The nested arrays of a tensor of rank `R`: `number[][]` for 2, and so on up to 4 (the ranks
 * AlexNet's tensors have); {@link NestedArray} for other or unknown ranks.
 */
export type NestedArrayOfRank<R extends number> = number extends R
  ? NestedArray
  : R extends 0
    ? number
    : R extends 1
      ? number[]
      : R extends 2
        ? number[][]
        : R extends 3
          ? number[][][]
          : R extends 4
            ? number[][][][]
            : NestedArray;

/** A seed for the counter-based generator: the same seed gives the same values on every backend. */
export type Seed = number | bigint;

/** Checks a shape: an array of non-negative safe integers. */
export function checkShape(shape: unknown, name = 'shape'): number[] {
  if (!Array.isArray(shape)) throw new TypeError(`${name} must be an array of integers, got ${describe(shape)}`);
  for (const [i, d] of shape.entries()) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d)) {
      throw new TypeError(`${name}[${i}] must be an integer, got ${describe(d)}`);
    }
    if (d < 0) throw new RangeError(`${name}[${i}] must be non-negative, got ${d}`);
  }
  return shape as number[];
}

/** @internal The most elements one typed array holds (V8's TypedArray::kMaxLength on 64-bit machines). */
export const MAX_ARRAY_LENGTH = 2 ** 32;

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** An n-dimensional array in a backend's memory. */
export class Tensor<D extends DType = NumericDType> {
  /** The backend whose memory holds this tensor. */
  readonly backend: Backend;
  /** Sizes of each dimension. */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: D;
  #handle: NativeTensor | null;

  /** @internal Wraps a native tensor handle (from an op) in a Tensor. */
  constructor(backend: Backend, handle: NativeTensor) {
    this.backend = backend;
    this.#handle = handle;
    this.shape = Object.freeze([...handle.shape]);
    this.dtype = handle.dtype as D;
  }

  /** An uninitialised tensor. */
  static empty<D extends DType = 'float32'>(shape: readonly number[], options: TensorOptions<D> = {}): Tensor<D> {
    const backend = getBackend(options.backend);
    const dtype = (options.dtype ?? 'float32') as D;
    if (dtype !== 'float32' && dtype !== 'int32' && dtype !== 'uint8') {
      throw new TypeError(`dtype must be 'float32', 'int32' or 'uint8', got ${describe(dtype)}`);
    }
    const dims = checkShape(shape);
    return new Tensor<D>(
      backend,
      callNative(() => new backend.native.Tensor(dims, dtype)),
    );
  }

  /** An int32 tensor holding `data` (an Int32Array gives int32 unless `options.dtype` says otherwise). */
  static fromArray(data: Int32Array, shape?: readonly number[], options?: TensorOptions<'int32'>): Tensor<'int32'>;
  /** A uint8 tensor holding `data` (a Uint8Array gives uint8 unless `options.dtype` says otherwise). */
  static fromArray(data: Uint8Array, shape?: readonly number[], options?: TensorOptions<'uint8'>): Tensor<'uint8'>;
  /**
   * A tensor holding `data` (copied). `shape` defaults to one dimension of data's length. The
   * element type is `options.dtype`, else int32 for an Int32Array, uint8 for a Uint8Array and
   * float32 for anything else. Numbers are checked: int32 tensors take integers only.
   */
  static fromArray<D extends DType = 'float32'>(data: ArrayLike<number>, shape?: readonly number[], options?: TensorOptions<D>): Tensor<D>;
  static fromArray<D extends DType = 'float32'>(
    data: ArrayLike<number>,
    shape?: readonly number[],
    options: TensorOptions<D> = {},
  ): Tensor<D> {
    if (data === null || typeof data !== 'object' || typeof data.length !== 'number') {
      throw new TypeError(`data must be an array or typed array of numbers, got ${describe(data)}`);
    }
    const dims = shape === undefined ? [data.length] : checkShape(shape);
    if (product(dims) !== data.length) {
      throw new RangeError(`data has ${data.length} elements, shape [${dims.join(', ')}] needs ${product(dims)}`);
    }
    const dtype = (options.dtype ?? (data instanceof Int32Array ? 'int32' : data instanceof Uint8Array ? 'uint8' : 'float32')) as D;
    let host: Float32Array | Int32Array | Uint8Array;
    if (dtype === 'uint8') {
      if (data instanceof Uint8Array) {
        host = data;
      } else {
        host = new Uint8Array(data.length);
        for (let i = 0; i < data.length; i++) {
          const v = data[i]!;
          if (!Number.isInteger(v) || v < 0 || v > 255) {
            throw new RangeError(`data[${i}] must be an integer from 0 to 255 for a uint8 tensor, got ${describe(v)}`);
          }
          host[i] = v;
        }
      }
    } else if (dtype === 'int32') {
      if (data instanceof Int32Array) {
        host = data;
      } else {
        host = new Int32Array(data.length);
        for (let i = 0; i < data.length; i++) {
          const v = data[i]!;
          if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
            throw new RangeError(`data[${i}] must be a 32-bit integer for an int32 tensor, got ${describe(v)}`);
          }
          host[i] = v;
        }
      }
    } else if (data instanceof Float32Array) {
      host = data;
    } else {
      // Float32Array.from would turn anything that is not a number into NaN without a word.
      if (!ArrayBuffer.isView(data)) {
        for (let i = 0; i < data.length; i++) {
          if (typeof data[i] !== 'number') throw new TypeError(`data[${i}] must be a number, got ${describe(data[i])}`);
        }
      }
      host = Float32Array.from(data);
    }
    const tensor = Tensor.empty<D>(dims, { ...options, dtype });
    callNative(() => tensor.handle.upload(host));
    return tensor;
  }

  /** A tensor filled with `value`. */
  static full<D extends DType = 'float32'>(shape: readonly number[], value: number, options: TensorOptions<D> = {}): Tensor<D> {
    finiteNumber(value, 'value');
    const tensor = Tensor.empty<D>(shape, options);
    callNative(() => tensor.handle.fill(value));
    return tensor;
  }

  /** A tensor of zeros. */
  static zeros<D extends DType = 'float32'>(shape: readonly number[], options: TensorOptions<D> = {}): Tensor<D> {
    return Tensor.full(shape, 0, options);
  }

  /** Uniform random values in [low, high) from the seeded counter-based generator. */
  static uniform(
    shape: readonly number[],
    { low = 0, high = 1, seed }: { low?: number; high?: number; seed: Seed },
    options: TensorOptions<'float32'> = {},
  ): Tensor<'float32'> {
    finiteNumber(low, 'low');
    finiteNumber(high, 'high');
    if (high < low) throw new RangeError(`high (${high}) must be at least low (${low})`);
    const s = seedValue(seed, 'seed');
    const tensor = Tensor.empty(shape, { ...options, dtype: 'float32' });
    callNative(() => tensor.handle.fillUniform(low, high, s));
    return tensor;
  }

  /**
   * Normal random values with the given mean and standard deviation, seeded. With `truncation`
   * (in standard deviations, e.g. 2 for TensorFlow's `truncated_normal`), values farther from the
   * mean are redrawn; the values that need no redraw equal the untruncated ones of the same seed.
   */
  static normal(
    shape: readonly number[],
    { mean = 0, std = 1, seed, truncation = 0 }: { mean?: number; std?: number; seed: Seed; truncation?: number },
    options: TensorOptions<'float32'> = {},
  ): Tensor<'float32'> {
    finiteNumber(mean, 'mean');
    finiteNumber(std, 'std');
    finiteNumber(truncation, 'truncation');
    if (std < 0) throw new RangeError(`std must be non-negative, got ${std}`);
    if (truncation < 0) throw new RangeError(`truncation must be non-negative (0: none), got ${truncation}`);
    const s = seedValue(seed, 'seed');
    const tensor = Tensor.empty(shape, { ...options, dtype: 'float32' });
    callNative(() => tensor.handle.fillNormal(mean, std, s, truncation));
    return tensor;
  }

  /** Number of elements. */
  get size(): number {
    return product(this.shape);
  }

  /** Whether {@link dispose} has been called. */
  get disposed(): boolean {
    return this.#handle === null || this.#handle.disposed;
  }

  /** @internal The native handle; throws a TypeError once disposed. */
  get handle(): NativeTensor {
    if (this.#handle === null) throw new TypeError('the tensor has been disposed');
    return this.#handle;
  }

  /**
   * Copies the values to the host. Waits (without blocking the event loop) for queued work. A
   * tensor of more than 2^32 elements (more than one typed array holds) is a RangeError.
   */
  async toArray(): Promise<HostArray<D>> {
    const handle = this.handle;
    if (this.size > MAX_ARRAY_LENGTH) {
      throw new RangeError(
        `toArray: the tensor [${this.shape.join(', ')}] has ${this.size.toLocaleString('en-US')} elements, ` +
          `more than one typed array can hold (${MAX_ARRAY_LENGTH.toLocaleString('en-US')})`,
      );
    }
    try {
      return (await callNative(() => handle.download())) as HostArray<D>;
    } catch (error) {
      throw translateNativeError(error);
    }
  }

  /**
   * The values as nested arrays of numbers, shaped as the tensor (logits [N, classes] give one
   * array per row). Waits like {@link Tensor.toArray}, and builds one JavaScript array per row,
   * so it is meant for small results; read big ones flat with toArray.
   */
  toNested(): Promise<NestedArray>;
  /**
   * As {@link Tensor.toNested} with the expected rank, which types the result (`toNested(2)` gives
   * `number[][]`); a tensor of another rank is a RangeError.
   */
  toNested<R extends number>(rank: R): Promise<NestedArrayOfRank<R>>;
  async toNested(rank?: number): Promise<NestedArray> {
    if (rank !== undefined) {
      nonNegativeInt(rank, 'rank');
      if (rank !== this.shape.length) {
        throw new RangeError(`toNested: expected a tensor of rank ${rank}, got shape [${this.shape.join(', ')}]`);
      }
    }
    return nest(await this.toArray(), this.shape);
  }

  /** A tensor with a new shape sharing this one's memory; one dimension may be -1 (inferred). */
  reshape(shape: readonly number[]): Tensor<D> {
    if (!isArray(shape)) throw new TypeError(`shape must be an array of integers, got ${describe(shape)}`);
    const inferred = shape.indexOf(-1);
    let dims = [...shape];
    if (inferred >= 0) {
      const rest = shape.filter((_, i) => i !== inferred);
      checkShape(rest);
      const known = product(rest);
      if (known === 0 || this.size % known !== 0) {
        throw new RangeError(`cannot reshape [${this.shape.join(', ')}] into [${shape.join(', ')}]`);
      }
      dims[inferred] = this.size / known;
    }
    dims = checkShape(dims);
    if (product(dims) !== this.size) {
      throw new RangeError(`cannot reshape [${this.shape.join(', ')}] (${this.size} elements) into [${dims.join(', ')}]`);
    }
    return new Tensor<D>(
      this.backend,
      callNative(() => this.handle.view(dims)),
    );
  }

  /**
   * A tensor of `shape` over this one's memory from element `offset` (the flat parameter buffers
   * hand each layer such views). It shares the memory and keeps all of it alive until disposed.
   */
  slice(offset: number, shape: readonly number[]): Tensor<D> {
    nonNegativeInt(offset, 'offset');
    const dims = checkShape(shape);
    if (offset + product(dims) > this.size) {
      throw new RangeError(
        `slice: elements ${offset} to ${offset + product(dims)} are outside the tensor [${this.shape.join(', ')}] of ${this.size} elements`,
      );
    }
    return new Tensor<D>(
      this.backend,
      callNative(() => this.handle.slice(offset, dims)),
    );
  }

  /** Another handle to the same memory: it stays valid when this one is disposed. */
  share(): Tensor<D> {
    return new Tensor<D>(
      this.backend,
      callNative(() => this.handle.view(this.shape)),
    );
  }

  /** A copy in new memory. */
  clone(): Tensor<D> {
    const copy = Tensor.empty<D>(this.shape, { backend: this.backend, dtype: this.dtype });
    callNative(() => this.backend.native.copy(copy.handle, this.handle));
    return copy;
  }

  /** A copy of this tensor on another backend (waits for the values). */
  async to(backend: Backend | BackendChoice): Promise<Tensor<D>> {
    const target = getBackend(backend);
    const values = await this.toArray();
    return Tensor.fromArray<D>(values, this.shape, { backend: target, dtype: this.dtype });
  }

  /** Frees the memory now (it is reused once queued work that reads it has run). Idempotent. */
  dispose(): void {
    if (this.#handle) {
      this.#handle.dispose();
      this.#handle = null;
    }
  }

  /** A short description: shape, dtype and backend. */
  toString(): string {
    return `Tensor(${this.disposed ? 'disposed, ' : ''}[${this.shape.join(', ')}], ${this.dtype}, ${this.backend.kind})`;
  }
}

/** Nests flat row-major values by `shape` (a 0-D shape gives the one value). */
function nest(flat: ArrayLike<number>, shape: readonly number[]): NestedArray {
  if (shape.length === 0) return flat[0]!;
  let next = 0;
  const build = (dim: number): NestedArray[] => {
    const out = new Array<NestedArray>(shape[dim]!);
    for (let i = 0; i < out.length; i++) out[i] = dim === shape.length - 1 ? flat[next++]! : build(dim + 1);
    return out;
  };
  return build(0);
}

/** Checks that `value` is a live Tensor, naming the parameter in the error. */
export function checkTensor(value: unknown, name: string, backend?: Backend): Tensor {
  if (!(value instanceof Tensor)) throw new TypeError(`${name} must be a Tensor, got ${describe(value)}`);
  if (value.disposed) throw new TypeError(`${name} has been disposed`);
  if (backend && value.backend !== backend) {
    throw new TypeError(`${name} lives on the ${value.backend.kind} backend, expected ${backend.kind}`);
  }
  return value as Tensor;
}
