/**
 * Center and random crops, with torchvision's conventions: CenterCrop rounds the offset with
 * Python's round (half to even) and pads with zeros when the crop is larger than the image;
 * RandomCrop optionally zero-pads every side first and picks the corner uniformly.
 * @module
 */
import type { Image, ImageShape } from '../image';
import type { Rng } from '../rng';
import { sizePair, type Size2d, type Transform, type TransformSpec } from './transform';
import { nonNegativeInt, options as checkOptions } from '../../validate';
import { checkImagePixels } from '../../limits';

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Copies the window starting at (top, left) of size outH x outW; parts of the window outside the
 * image are zero.
 */
export function cropImage(image: Image, top: number, left: number, outH: number, outW: number): Image {
  const { channels, height, width, data } = image;
  const out = new Float32Array(channels * outH * outW);
  const y0 = Math.max(0, -top);
  const y1 = Math.min(outH, height - top);
  const x0 = Math.max(0, -left);
  const x1 = Math.min(outW, width - left);
  if (y1 > y0 && x1 > x0) {
    for (let c = 0; c < channels; c++) {
      for (let y = y0; y < y1; y++) {
        const src = c * height * width + (y + top) * width + left;
        const dst = c * outH * outW + y * outW;
        out.set(data.subarray(src + x0, src + x1), dst + x0);
      }
    }
  }
  return { data: out, channels, height: outH, width: outW };
}

/** Crops the center (torchvision's CenterCrop). */
export class CenterCrop implements Transform {
  readonly spec: TransformSpec;
  readonly #size: [number, number];

  constructor(size: Size2d) {
    this.#size = sizePair(size, 'centerCrop: size');
    checkImagePixels(this.#size[0], this.#size[1], 'centerCrop: the output');
    this.spec = { kind: 'centerCrop', size: [...this.#size] };
  }

  outputShape([c]: ImageShape): ImageShape {
    return [c, this.#size[0], this.#size[1]];
  }

  apply(image: Image): Image {
    const [h, w] = this.#size;
    if (h === image.height && w === image.width) return image;
    return cropImage(image, roundHalfEven((image.height - h) / 2), roundHalfEven((image.width - w) / 2), h, w);
  }
}

/** Crops a uniformly random window, after optional zero padding (torchvision's RandomCrop). */
export class RandomCrop implements Transform {
  readonly spec: TransformSpec;
  readonly #size: [number, number];
  readonly #padding: number;

  constructor(size: Size2d, options: { padding?: number } = {}) {
    this.#size = sizePair(size, 'randomCrop: size');
    checkImagePixels(this.#size[0], this.#size[1], 'randomCrop: the output');
    this.#padding = nonNegativeInt(checkOptions(options, ['padding'], 'randomCrop options').padding ?? 0, 'randomCrop: padding');
    // Padding beyond the crop's size only adds windows of zeros (and a bomb of a padded copy).
    if (this.#padding > Math.max(...this.#size)) {
      throw new RangeError(`randomCrop: padding must be at most the crop size (${Math.max(...this.#size)}), got ${this.#padding}`);
    }
    this.spec = { kind: 'randomCrop', size: [...this.#size], ...(this.#padding ? { padding: this.#padding } : {}) };
  }

  outputShape([c, h, w]: ImageShape): ImageShape {
    const [th, tw] = this.#size;
    if (h + 2 * this.#padding < th || w + 2 * this.#padding < tw) {
      throw new RangeError(`randomCrop: a ${th}x${tw} crop does not fit a ${h}x${w} image with padding ${this.#padding}`);
    }
    return [c, th, tw];
  }

  apply(image: Image, rng: Rng): Image {
    this.outputShape([image.channels, image.height, image.width]);
    const [th, tw] = this.#size;
    const p = this.#padding;
    // Offsets in the padded image, uniform over every position the crop fits (both ends included).
    const top = rng.int(image.height + 2 * p - th + 1) - p;
    const left = rng.int(image.width + 2 * p - tw + 1) - p;
    return cropImage(image, top, left, th, tw);
  }
}

/** A center crop of [height, width] (or a square). */
export function centerCrop(size: Size2d): CenterCrop {
  return new CenterCrop(size);
}

/** A random crop of [height, width] (or a square), after zero-padding each side by `padding`. */
export function randomCrop(size: Size2d, options: { padding?: number } = {}): RandomCrop {
  return new RandomCrop(size, options);
}
