/**
 * A dataset held in memory as 8-bit images ([N, C, H, W], values 0..255) and integer labels: what
 * the IDX and CIFAR readers produce. The bytes live in a SharedArrayBuffer, so worker threads
 * that prepare batches read them without a copy.
 * @module
 */
import { describe, options as checkOptions } from '../validate';
import { checkIndex, checkIndices, type Dataset, type Sample, type WorkerSource } from './dataset';
import { imageFromBytesCHW, type ImageShape } from './image';

/** What an {@link ArrayDataset} holds. */
export interface ArrayDatasetOptions {
  /** N * C * H * W bytes, image after image, each channel plane after plane. */
  images: Uint8Array;
  /** N labels in [0, classes.length). */
  labels: ArrayLike<number>;
  /** [C, H, W]. */
  shape: readonly [number, number, number];
  /** Class names. */
  classes: readonly string[];
}

function sharedCopy(bytes: Uint8Array): Uint8Array {
  if (bytes.buffer instanceof SharedArrayBuffer) return bytes;
  const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
  shared.set(bytes);
  return shared;
}

/** In-memory 8-bit images and labels. */
export class ArrayDataset implements Dataset {
  readonly classes: readonly string[];
  readonly imageShape: ImageShape;
  readonly #images: Uint8Array;
  readonly #labels: Int32Array;
  /** Dataset index to storage index, or null for the identity. */
  readonly #indices: Int32Array | null;
  readonly #imageBytes: number;

  constructor(options: ArrayDatasetOptions, indices: Int32Array | null = null) {
    if (options === null || typeof options !== 'object') throw new TypeError('ArrayDataset: options must be an object');
    checkOptions(options, ['images', 'labels', 'shape', 'classes'], 'ArrayDataset options');
    const { images, labels, shape, classes } = options;
    if (!(images instanceof Uint8Array)) throw new TypeError(`ArrayDataset: images must be a Uint8Array, got ${describe(images)}`);
    if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new TypeError(`ArrayDataset: shape must be [channels, height, width] of positive integers, got ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(classes) || classes.length === 0 || !classes.every((c) => typeof c === 'string')) {
      throw new TypeError('ArrayDataset: classes must be a non-empty array of strings');
    }
    this.#imageBytes = shape[0] * shape[1] * shape[2];
    const count = images.length / this.#imageBytes;
    if (!Number.isInteger(count)) {
      throw new RangeError(`ArrayDataset: images holds ${images.length} bytes, not a whole number of ${shape.join('x')} images`);
    }
    if (labels === null || typeof labels !== 'object' || labels.length !== count) {
      throw new RangeError(`ArrayDataset: expected ${count} labels, got ${describe(labels)}`);
    }
    this.#labels = labels instanceof Int32Array ? labels : Int32Array.from(labels);
    for (let i = 0; i < count; i++) {
      const l = this.#labels[i]!;
      if (!(l >= 0 && l < classes.length)) {
        throw new RangeError(`ArrayDataset: label ${i} is ${l}, outside [0, ${classes.length}) for ${classes.length} classes`);
      }
    }
    this.#images = sharedCopy(images);
    this.classes = [...classes];
    this.imageShape = [shape[0], shape[1], shape[2]];
    this.#indices = indices;
  }

  get length(): number {
    return this.#indices ? this.#indices.length : this.#labels.length;
  }

  #storage(index: number): number {
    checkIndex(index, this.length, 'ArrayDataset.get');
    return this.#indices ? this.#indices[index]! : index;
  }

  get(index: number): Sample {
    const at = this.#storage(index);
    const [c, h, w] = this.imageShape;
    return { image: imageFromBytesCHW(this.#images, c, h, w, at * this.#imageBytes), label: this.#labels[at]! };
  }

  label(index: number): number {
    return this.#labels[this.#storage(index)]!;
  }

  /** The raw bytes of image `index` (C*H*W values, 0..255), without copying. */
  bytes(index: number): Uint8Array {
    const at = this.#storage(index);
    return this.#images.subarray(at * this.#imageBytes, (at + 1) * this.#imageBytes);
  }

  subset(indices: ArrayLike<number>): ArrayDataset {
    const picked = checkIndices(indices, this.length, 'ArrayDataset.subset');
    const storage = this.#indices ? picked.map((i) => this.#indices![i]!) : picked;
    return new ArrayDataset({ images: this.#images, labels: this.#labels, shape: this.imageShape, classes: this.classes }, storage);
  }

  /** @internal */
  workerSource(): WorkerSource {
    return { kind: 'arrays', images: this.#images, shape: [...this.imageShape] as [number, number, number], indices: this.#indices };
  }
}
