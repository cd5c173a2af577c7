/**
 * Per-channel normalization, (x - mean[c]) / std[c] (torchvision's Normalize), and the common
 * mean and standard deviation constants.
 * @module
 */
import type { Image, ImageShape } from '../image';
import type { Transform, TransformSpec } from './transform';

/** ImageNet's per-channel mean and standard deviation for RGB values in [0, 1] (torchvision's). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
/** See {@link IMAGENET_MEAN}. */
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** CIFAR-10's training-set statistics for values in [0, 1]. */
export const CIFAR10_MEAN = [0.4914, 0.4822, 0.4465] as const;
/** See {@link CIFAR10_MEAN}. */
export const CIFAR10_STD = [0.247, 0.2435, 0.2616] as const;

function numbers(value: unknown, name: string): number[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new TypeError(`normalize: ${name} must be a non-empty array of finite numbers`);
  }
  return [...(value as number[])];
}

/** (x - mean[c]) / std[c]; a single mean and std apply to every channel. */
export class Normalize implements Transform {
  readonly spec: TransformSpec;
  /** Per-channel means subtracted (one value applies to every channel). */
  readonly mean: readonly number[];
  /** Per-channel standard deviations divided by. */
  readonly std: readonly number[];

  constructor(mean: readonly number[], std: readonly number[]) {
    this.mean = numbers(mean, 'mean');
    this.std = numbers(std, 'std');
    if (this.mean.length !== this.std.length) {
      throw new RangeError(`normalize: mean has ${this.mean.length} values but std has ${this.std.length}`);
    }
    if (this.std.some((s) => s <= 0)) throw new RangeError('normalize: every std must be positive');
    this.spec = { kind: 'normalize', mean: [...this.mean], std: [...this.std] };
  }

  outputShape(shape: ImageShape): ImageShape {
    if (this.mean.length !== 1 && this.mean.length !== shape[0]) {
      throw new RangeError(`normalize: has ${this.mean.length} channel statistics but the image has ${shape[0]} channels`);
    }
    return shape;
  }

  apply(image: Image): Image {
    this.outputShape([image.channels, image.height, image.width]);
    const plane = image.height * image.width;
    const out = new Float32Array(image.data.length);
    for (let c = 0; c < image.channels; c++) {
      const m = this.mean.length === 1 ? this.mean[0]! : this.mean[c]!;
      const inv = 1 / (this.std.length === 1 ? this.std[0]! : this.std[c]!);
      const base = c * plane;
      for (let i = 0; i < plane; i++) out[base + i] = (image.data[base + i]! - m) * inv;
    }
    return { ...image, data: out };
  }
}

/** Per-channel normalization. */
export function normalize(mean: readonly number[], std: readonly number[]): Normalize {
  return new Normalize(mean, std);
}
