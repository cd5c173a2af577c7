/**
 * Random horizontal flip (the paper's "horizontal reflections", torchvision's RandomHorizontalFlip).
 * @module
 */
import type { Image, ImageShape } from '../image';
import type { Rng } from '../rng';
import type { Transform, TransformSpec } from './transform';

/** Mirrors an image left to right. */
export function flipHorizontal(image: Image): Image {
  const { channels, height, width, data } = image;
  const out = new Float32Array(data.length);
  for (let row = 0; row < channels * height; row++) {
    const base = row * width;
    for (let x = 0; x < width; x++) out[base + x] = data[base + width - 1 - x]!;
  }
  return { data: out, channels, height, width };
}

/** Flips with probability p. */
export class HorizontalFlip implements Transform {
  readonly spec: TransformSpec;
  /** The probability of flipping. */
  readonly p: number;

  constructor(p = 0.5) {
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new RangeError(`horizontalFlip: p must be in [0, 1], got ${String(p)}`);
    this.p = p;
    this.spec = { kind: 'horizontalFlip', p };
  }

  outputShape(shape: ImageShape): ImageShape {
    return shape;
  }

  apply(image: Image, rng: Rng): Image {
    // Always draw, so the stream's later draws do not depend on p.
    return rng.uniform() < this.p ? flipHorizontal(image) : image;
  }
}

/** Flips left to right with probability p (default 0.5). */
export function horizontalFlip(p = 0.5): HorizontalFlip {
  return new HorizontalFlip(p);
}
