/**
 * Grey to RGB: copies a single channel into three (so 3-channel presets can train on MNIST-like
 * data); RGB images pass through unchanged.
 * @module
 */
import type { Image, ImageShape } from '../image';
import type { Transform, TransformSpec } from './transform';

/** Copies a grey channel into R, G and B. */
export class GreyToRgb implements Transform {
  readonly spec: TransformSpec = { kind: 'greyToRgb' };

  outputShape([c, h, w]: ImageShape): ImageShape {
    if (c !== 1 && c !== 3) throw new RangeError(`greyToRgb: expected 1 or 3 channels, got ${c}`);
    return [3, h, w];
  }

  apply(image: Image): Image {
    this.outputShape([image.channels, image.height, image.width]);
    if (image.channels === 3) return image;
    const plane = image.data.length;
    const out = new Float32Array(3 * plane);
    out.set(image.data, 0);
    out.set(image.data, plane);
    out.set(image.data, 2 * plane);
    return { data: out, channels: 3, height: image.height, width: image.width };
  }
}

/** Replicates a grey channel into R, G and B. */
export function greyToRgb(): GreyToRgb {
  return new GreyToRgb();
}
