/**
 * The batch loader: shuffles with a seed, applies the transforms and hands out batches as tensors
 * on the model's backend, preparing the next batches while the current one trains.
 *
 * - Order: epoch e visits the samples in a permutation drawn from (seed, e), or in index order
 *   without shuffling. Augmentation draws from (seed, epoch, sample index). So any (epoch, batch)
 *   can be regenerated exactly, which is all a checkpoint needs to resume the data stream.
 * - Overlap and memory: at most `prefetch` batches are being prepared or waiting, plus the one
 *   handed out. Preparation runs on worker threads when the dataset and transforms allow it
 *   (built-in datasets and transforms do), else on the main thread between training steps, which
 *   still overlaps with the device because ops only enqueue work.
 * @module
 */
import * as os from 'node:os';

import { getBackend, type Backend, type BackendChoice } from '../backend/backend';
import { boolean, describe, nonNegativeInt, options as checkOptions, positiveInt, seedValue } from '../validate';
import { Tensor, type Seed } from '../tensor';
import { preprocess } from '../ops/preprocess';
import { assembleBatch, checkBatchSize, type HostBatch } from './batchAssembly';
import { BatchWorkers, batchWorkerScript } from './batchWorkers';
import type { Dataset, Sample, WorkerSource } from './dataset';
import { devicePreprocessPlan, type DevicePreprocessPlan } from './devicePreprocess';
import type { Image } from './image';
import { permutation } from './rng';
import { Pipeline, type TransformList } from './transforms/pipeline';

/** Options of a {@link DataLoader}. */
export interface DataLoaderOptions {
  /** Samples per batch. */
  batchSize: number;
  /** Visit samples in a new random order every epoch (default false). */
  shuffle?: boolean;
  /** Seed of the shuffle and of the augmentation (default 0). */
  seed?: Seed;
  /** Transforms applied to every image (a list, or a Pipeline). */
  transform?: TransformList | Pipeline;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Batches prepared ahead of the one in use (default 2, at least the worker count). */
  prefetch?: number;
  /**
   * Worker threads preparing batches. 'auto' (default) uses up to 8 (leaving two cores free) when
   * training on the GPU from the compiled package, and none otherwise (on the CPU backend the
   * cores are better spent on the arithmetic). Datasets or transforms that cannot be described as
   * plain data (custom ones) always run on the main thread.
   */
  workers?: number | 'auto';
  /** Where the batch tensors live (default: the process default backend). */
  backend?: Backend | BackendChoice;
  /**
   * Hand the device image bytes and let it convert, resize and normalize them (lib/data/
   * devicePreprocess.ts: the same bits as the transforms). 'auto' (default): on the CUDA backend,
   * whenever the dataset holds its images as bytes in memory (IDX, CIFAR) and the transforms are
   * only greyToRgb, resize and normalize, unless ALEXNET_DEVICE_PREPROCESS=0. true asks for it (a
   * TypeError when it cannot be done); false never.
   */
  devicePreprocess?: boolean | 'auto';
}

/** One batch, on the loader's backend. Dispose it (or let the Trainer do it) when done. */
export interface Batch {
  /** [N, C, H, W] float32. */
  input: Tensor<'float32'>;
  /** [N] int32 class indices. */
  labels: Tensor<'int32'>;
  /** N. */
  size: number;
  /** The epoch this batch belongs to. */
  epoch: number;
  /** Position of this batch within the epoch. */
  index: number;
  /** Frees both tensors. */
  dispose(): void;
}

/** A batch ready for upload: transformed float32 images, or image bytes for the device to preprocess. */
type PreparedBatch = (HostBatch & { labels: Int32Array }) | { bytes: Uint8Array; labels: Int32Array };

/**
 * Batches of a dataset as tensors on a backend, prepared ahead (on worker threads when possible)
 * while the current batch trains. With `shuffle`, epoch e's order is a permutation drawn from
 * (seed, e); augmentation draws from (seed, epoch, index); so any batch can be regenerated exactly. The
 * constructor throws a TypeError or RangeError naming a bad dataset or option.
 */
export class DataLoader {
  /** Where the samples come from. */
  readonly dataset: Dataset;
  /** Samples per batch (the last batch of an epoch may be smaller unless dropLast). */
  readonly batchSize: number;
  /** Whether each epoch visits the samples in a new random order. */
  readonly shuffle: boolean;
  /** Seed of the order and of the augmentation streams. */
  readonly seed: bigint;
  /** Whether a last, smaller batch is dropped. */
  readonly dropLast: boolean;
  /** Batches prepared ahead of the one in use. */
  readonly prefetch: number;
  /** The transforms applied to every image. */
  readonly pipeline: Pipeline;
  /** Where the batch tensors are created. */
  readonly backend: Backend;
  /** Worker threads in use (0: the main thread prepares batches). */
  readonly workers: number;
  /** Whether batches travel as bytes and the device preprocesses them (see DataLoaderOptions.devicePreprocess). */
  readonly devicePreprocess: boolean;
  readonly #plan: DevicePreprocessPlan | null;
  readonly #source: Extract<WorkerSource, { kind: 'arrays' }> | null;
  #pool: BatchWorkers | null = null;
  readonly #freeBuffers: ArrayBuffer[] = [];
  #orderCache: { epoch: number; order: Int32Array } | null = null;

  constructor(dataset: Dataset, options: DataLoaderOptions) {
    if (dataset === null || typeof dataset !== 'object' || typeof dataset.get !== 'function' || !Number.isInteger(dataset.length)) {
      throw new TypeError(`dataset must be a Dataset (length, classes, get), got ${describe(dataset)}`);
    }
    if (dataset.length === 0) throw new RangeError('dataset is empty');
    if (options === null || typeof options !== 'object') throw new TypeError('DataLoader: options must be an object with batchSize');
    checkOptions(
      options,
      ['batchSize', 'shuffle', 'seed', 'transform', 'dropLast', 'prefetch', 'workers', 'backend', 'devicePreprocess'],
      'DataLoader options',
    );
    this.dataset = dataset;
    this.batchSize = positiveInt(options.batchSize, 'batchSize');
    this.shuffle = boolean(options.shuffle ?? false, 'shuffle');
    this.seed = seedValue(options.seed ?? 0, 'seed');
    this.dropLast = options.dropLast ?? false;
    if (typeof this.dropLast !== 'boolean') throw new TypeError(`dropLast must be a boolean, got ${describe(this.dropLast)}`);
    if (this.dropLast && dataset.length < this.batchSize) {
      throw new RangeError(`dropLast with batchSize ${this.batchSize} leaves no batch from ${dataset.length} samples`);
    }
    this.pipeline = options.transform instanceof Pipeline ? options.transform : new Pipeline(options.transform ?? []);
    if (dataset.imageShape) checkBatchSize(Math.min(this.batchSize, dataset.length), this.pipeline.outputShape(dataset.imageShape));
    this.backend = getBackend(options.backend);
    const wanted = options.devicePreprocess ?? 'auto';
    if (wanted !== 'auto' && typeof wanted !== 'boolean') {
      throw new TypeError(`devicePreprocess must be true, false or 'auto', got ${describe(wanted)}`);
    }
    const source = wanted === false ? undefined : dataset.workerSource?.();
    const plan =
      source?.kind === 'arrays' && typeof dataset.label === 'function' ? devicePreprocessPlan(this.pipeline.specs, source.shape) : null;
    if (wanted === true && !plan) {
      throw new TypeError(
        'devicePreprocess: needs a dataset of image bytes in memory (IDX, CIFAR) and transforms that are only greyToRgb, resize and normalize (normalize after the resize)',
      );
    }
    const auto = this.backend.kind === 'cuda' && process.env.ALEXNET_DEVICE_PREPROCESS !== '0';
    this.devicePreprocess = plan !== null && (wanted === true || (wanted === 'auto' && auto));
    this.#plan = this.devicePreprocess ? plan : null;
    this.#source = this.devicePreprocess ? (source as Extract<WorkerSource, { kind: 'arrays' }>) : null;
    this.workers = this.devicePreprocess ? 0 : this.#workerCount(options.workers ?? 'auto');
    this.prefetch = Math.max(positiveInt(options.prefetch ?? 2, 'prefetch'), this.workers);
  }

  #workerCount(requested: number | 'auto'): number {
    const source = this.dataset.workerSource?.();
    const shareable = source !== undefined && this.pipeline.specs !== undefined && typeof this.dataset.label === 'function';
    if (requested === 'auto') {
      const compiled = __filename.endsWith('.js') && batchWorkerScript() !== undefined;
      if (!shareable || !compiled || this.backend.kind === 'cpu') return 0;
      return Math.max(1, Math.min(8, os.availableParallelism() - 2));
    }
    const n = nonNegativeInt(requested, 'workers');
    if (n > 0 && !shareable) {
      throw new TypeError(
        'workers > 0 needs a built-in dataset and built-in transforms (custom ones cannot be sent to worker threads); use workers: 0',
      );
    }
    return n;
  }

  /** Samples per epoch that end up in batches. */
  get samplesPerEpoch(): number {
    return this.dropLast ? this.batchesPerEpoch * this.batchSize : this.dataset.length;
  }

  /** Batches per epoch. */
  get batchesPerEpoch(): number {
    const n = this.dataset.length / this.batchSize;
    return this.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  /** The order in which epoch `epoch` visits the dataset's indices. */
  order(epoch: number): Int32Array {
    nonNegativeInt(epoch, 'epoch');
    if (this.#orderCache?.epoch === epoch) return this.#orderCache.order;
    let order: Int32Array;
    if (this.shuffle) {
      order = permutation(this.dataset.length, this.seed, 0x5f1e, epoch);
    } else {
      order = new Int32Array(this.dataset.length);
      for (let i = 0; i < order.length; i++) order[i] = i;
    }
    this.#orderCache = { epoch, order };
    return order;
  }

  /** The dataset indices of batch `index` of epoch `epoch`. */
  batchIndices(epoch: number, index: number): Int32Array {
    nonNegativeInt(index, 'batch index');
    if (index >= this.batchesPerEpoch) throw new RangeError(`batch index ${index} is out of range [0, ${this.batchesPerEpoch})`);
    const start = index * this.batchSize;
    return this.order(epoch).slice(start, Math.min(start + this.batchSize, this.dataset.length));
  }

  async #prepare(epoch: number, index: number): Promise<PreparedBatch> {
    const indices = this.batchIndices(epoch, index);
    if (this.#source) {
      // Only gathering bytes here: the device converts, resizes and normalizes them (#upload).
      const { images, shape, indices: storage } = this.#source;
      const size = shape[0] * shape[1] * shape[2];
      const bytes = new Uint8Array(indices.length * size);
      const labels = new Int32Array(indices.length);
      for (let p = 0; p < indices.length; p++) {
        const i = indices[p]!;
        const at = storage ? storage[i]! : i;
        bytes.set(images.subarray(at * size, (at + 1) * size), p * size);
        labels[p] = this.dataset.label!(i);
      }
      return { bytes, labels };
    }
    if (this.workers > 0) {
      this.#pool ??= new BatchWorkers(this.workers, {
        source: this.dataset.workerSource!(),
        transforms: this.pipeline.specs!,
        seed: this.seed.toString(),
      });
      const labels = indices.map((i) => this.dataset.label!(i));
      const buffer = this.#freeBuffers.pop() ?? null;
      const host = await this.#pool.run({ epoch, indices, buffer });
      return { ...host, labels };
    }
    const labels = new Int32Array(indices.length);
    const host = await assembleBatch(
      (i, position) => {
        const sample = this.dataset.get(i);
        const image = (s: Sample): Image => {
          labels[position] = s.label;
          return s.image;
        };
        return sample instanceof Promise ? sample.then(image) : image(sample);
      },
      indices,
      this.pipeline,
      this.seed,
      epoch,
      this.#freeBuffers.pop(),
    );
    return { ...host, labels };
  }

  #upload(prepared: PreparedBatch, epoch: number, index: number): Batch {
    const n = prepared.labels.length;
    const classes = this.dataset.classes.length;
    for (let i = 0; i < n; i++) {
      const label = prepared.labels[i]!;
      if (!(label >= 0 && label < classes)) {
        throw new RangeError(
          `batch ${index} of epoch ${epoch}: sample ${i} has label ${label}, outside [0, ${classes}) for ${classes} classes`,
        );
      }
    }
    let input: Tensor<'float32'>;
    if ('bytes' in prepared) {
      const plan = this.#plan!;
      const bytes = Tensor.fromArray(prepared.bytes, [n, ...plan.inputShape], { backend: this.backend, dtype: 'uint8' });
      try {
        input = preprocess(bytes, plan);
      } finally {
        bytes.dispose(); // the op queued before it reads the bytes; memory is reused in queue order
      }
    } else {
      input = Tensor.fromArray(prepared.data, [n, ...prepared.sampleShape], { backend: this.backend, dtype: 'float32' });
      // Upload copies (the backend may reuse the source once it returns): the buffer can serve another batch.
      if (this.#freeBuffers.length < this.prefetch + 1) this.#freeBuffers.push(prepared.data.buffer as ArrayBuffer);
    }
    let labels: Tensor<'int32'>;
    try {
      labels = Tensor.fromArray(prepared.labels, [n], { backend: this.backend, dtype: 'int32' });
    } catch (error) {
      input.dispose();
      throw error;
    }
    return {
      input,
      labels,
      size: n,
      epoch,
      index,
      dispose() {
        input.dispose();
        labels.dispose();
      },
    };
  }

  /**
   * The batches of epoch `epoch`, starting at batch `start` (to resume mid-epoch). Stop early
   * with `break`; batches already being prepared are discarded.
   */
  async *batches(epoch = 0, start = 0): AsyncGenerator<Batch, void, undefined> {
    nonNegativeInt(epoch, 'epoch');
    nonNegativeInt(start, 'start');
    const total = this.batchesPerEpoch;
    if (start > total) throw new RangeError(`start batch ${start} is beyond the ${total} batches of an epoch`);
    const pending: Promise<PreparedBatch>[] = [];
    let next = start;
    let yielded = start;
    const fill = () => {
      while (pending.length < this.prefetch && next < total) {
        const p = this.#prepare(epoch, next++);
        p.catch(() => {}); // handled where it is awaited; this only marks early rejections as expected
        pending.push(p);
      }
    };
    fill();
    while (pending.length > 0) {
      const prepared = await pending.shift()!;
      fill();
      yield this.#upload(prepared, epoch, yielded++);
    }
  }

  /** Stops the worker threads (if any). The loader can still be used; workers restart on demand. */
  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = null;
    await pool?.close();
  }
}
