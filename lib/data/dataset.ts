/**
 * The dataset contract: a fixed number of labelled images, read by index. Built-in datasets
 * (IDX, CIFAR, image folders) also describe themselves as a {@link WorkerSource} so worker threads
 * can read the same samples without copying the data.
 * @module
 */
import { positiveInt } from '../validate';
import { type Seed } from '../tensor';
import { describe } from '../validate';
import type { Image, ImageShape } from './image';
import { permutation } from './rng';

/** One labelled image. */
export interface Sample {
  /** The image, CHW float32 in [0, 1]. */
  image: Image;
  /** Class index in [0, classes.length). */
  label: number;
}

/** Labelled images, read by index. */
export interface Dataset {
  /** Number of samples. */
  readonly length: number;
  /** Class names; labels index into this list. */
  readonly classes: readonly string[];
  /** The shape every image has, when they all have the same one. */
  readonly imageShape?: ImageShape | undefined;
  /** The sample at `index` (0 <= index < length). */
  get(index: number): Sample | Promise<Sample>;
  /** The label at `index` without decoding the image, where that is cheap. */
  label?(index: number): number;
  /** A dataset of the samples at `indices` (in that order), sharing the data. */
  subset?(indices: ArrayLike<number>): Dataset;
  /** @internal How a worker thread reads the same samples; absent where it cannot. */
  workerSource?(): WorkerSource;
}

/**
 * @internal What a worker thread needs to read samples: bytes in shared memory, or image files.
 * `indices` maps a dataset index to a position in the underlying storage.
 */
export type WorkerSource =
  | { kind: 'arrays'; images: Uint8Array; shape: [number, number, number]; indices: Int32Array | null }
  | { kind: 'files'; files: string[]; channels: 1 | 3; resize: number | null; indices: Int32Array | null };

/** Checks a sample index, naming the dataset in the error. */
export function checkIndex(index: unknown, length: number, what: string): number {
  if (typeof index !== 'number' || !Number.isInteger(index)) {
    throw new TypeError(`${what}: index must be an integer, got ${describe(index)}`);
  }
  if (index < 0 || index >= length) throw new RangeError(`${what}: index ${index} is out of range [0, ${length})`);
  return index;
}

/** Checks and copies an index list for a subset of a dataset of `length` samples. */
export function checkIndices(indices: ArrayLike<number>, length: number, what: string): Int32Array {
  if (indices === null || typeof indices !== 'object' || typeof indices.length !== 'number') {
    throw new TypeError(`${what}: indices must be an array of integers, got ${describe(indices)}`);
  }
  const out = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) out[i] = checkIndex(indices[i], length, `${what}: indices[${i}]`);
  return out;
}

/** A view of some samples of another dataset (for datasets that have no `subset` of their own). */
export class Subset implements Dataset {
  readonly #base: Dataset;
  readonly #indices: Int32Array;

  constructor(base: Dataset, indices: ArrayLike<number>) {
    this.#base = base;
    this.#indices = checkIndices(indices, base.length, 'subset');
  }

  get length(): number {
    return this.#indices.length;
  }

  get classes(): readonly string[] {
    return this.#base.classes;
  }

  get imageShape(): ImageShape | undefined {
    return this.#base.imageShape;
  }

  get(index: number): Sample | Promise<Sample> {
    return this.#base.get(this.#indices[checkIndex(index, this.length, 'subset')]!);
  }

  label(index: number): number {
    const base = this.#indices[checkIndex(index, this.length, 'subset')]!;
    if (this.#base.label) return this.#base.label(base);
    throw new TypeError('subset: the underlying dataset has no label() accessor');
  }
}

/** The samples at `indices`, sharing the data. */
export function subset(dataset: Dataset, indices: ArrayLike<number>): Dataset {
  return dataset.subset ? dataset.subset(indices) : new Subset(dataset, indices);
}

/**
 * `count` samples chosen at random (without replacement) with `seed`, in increasing index order;
 * the whole dataset when count is at least its length.
 */
export function randomSubset(dataset: Dataset, count: number, seed: Seed): Dataset {
  positiveInt(count, 'count');
  if (count >= dataset.length) return dataset;
  const chosen = permutation(dataset.length, seed, 0x5b5e7).subarray(0, count).sort();
  return subset(dataset, chosen);
}
