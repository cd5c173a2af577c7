/**
 * Images on the host, as transforms see them: float32, channels first (CHW, the layout the model
 * takes), values in [0, 1] as torchvision's ToTensor gives them until a normalization shifts them.
 * @module
 */
import { describe, positiveInt } from '../validate';

/** A channels-first float32 image. */
export interface Image {
  /** channels * height * width values, channel planes one after another. */
  data: Float32Array;
  /** 1 (grey) or 3 (RGB) for images from files; any positive count in general. */
  channels: number;
  /** Rows. */
  height: number;
  /** Columns. */
  width: number;
}

/** An image's [channels, height, width]. */
export type ImageShape = readonly [channels: number, height: number, width: number];

/** Checks an image's fields and that its data holds channels * height * width values. */
export function checkImage(image: unknown, name = 'image'): Image {
  if (image === null || typeof image !== 'object') throw new TypeError(`${name} must be an image object, got ${describe(image)}`);
  const { data, channels, height, width } = image as Partial<Image>;
  if (!(data instanceof Float32Array)) throw new TypeError(`${name}.data must be a Float32Array, got ${describe(data)}`);
  for (const [key, value] of [
    ['channels', channels],
    ['height', height],
    ['width', width],
  ] as const)
    positiveInt(value, `${name}.${key}`);
  const expected = channels! * height! * width!;
  if (data.length !== expected) {
    throw new RangeError(`${name}.data has ${data.length} values, ${channels}x${height}x${width} needs ${expected}`);
  }
  return image as Image;
}

/** A new image of zeros. */
export function blankImage(channels: number, height: number, width: number): Image {
  return { data: new Float32Array(channels * height * width), channels, height, width };
}

/** Converts CHW bytes (0..255) to an image in [0, 1]. */
export function imageFromBytesCHW(bytes: Uint8Array, channels: number, height: number, width: number, offset = 0): Image {
  const n = channels * height * width;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = bytes[offset + i]! / 255;
  return { data, channels, height, width };
}

/** Converts interleaved HWC bytes (what decoders give) to a CHW image in [0, 1]. */
export function imageFromBytesHWC(bytes: Uint8Array, channels: number, height: number, width: number): Image {
  const plane = height * width;
  const data = new Float32Array(channels * plane);
  for (let c = 0; c < channels; c++) {
    const out = c * plane;
    for (let p = 0, i = c; p < plane; p++, i += channels) data[out + p] = bytes[i]! / 255;
  }
  return { data, channels, height, width };
}
