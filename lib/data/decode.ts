/**
 * Decoding image files (JPEG, PNG, WebP and whatever else libvips reads) with sharp, into the
 * CHW float images transforms take. Alpha is dropped, as PIL's convert('RGB') does; grey images
 * become RGB when three channels are asked for, and colour images grey (ITU-R BT.709 luma) when
 * one is.
 *
 * Limits before work: a path must name a regular file (a FIFO would block one of libuv's threads
 * for good), and an image with more pixels than the limit maxImagePixels (see limits.ts) is refused
 * from its header, before any pixel is decoded.
 * @module
 */
import type Sharp from 'sharp';

import { checkRegularFile } from '../io/readFile';
import { getLimits, raiseHint } from '../limits';
import { describe, options as checkOptions, positiveInt } from '../validate';
import { DatasetFormatError } from './errors';
import { imageFromBytesHWC, type Image } from './image';

// Loaded on first use: importing the library should not load libvips for work that decodes no images.
let sharpModule: typeof Sharp | undefined;
function sharp(): typeof Sharp {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  sharpModule ??= require('sharp') as typeof Sharp;
  return sharpModule;
}

/** Options for {@link decodeImage}. */
export interface DecodeOptions {
  /** 3 for RGB (default), 1 for grey. */
  channels?: 1 | 3;
  /**
   * Resize so the shorter side is this many pixels while decoding (libvips' shrink-on-load makes
   * large JPEGs much cheaper). The aspect ratio is kept. Default: no resize.
   */
  resize?: number;
}

/** Decodes an image file (path) or encoded bytes (Buffer) into a CHW image with values in [0, 1]. */
export async function decodeImage(input: string | Uint8Array, options: DecodeOptions = {}): Promise<Image> {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
    throw new TypeError(`image must be a file path or a Buffer of encoded image bytes, got ${describe(input)}`);
  }
  const o = checkOptions(options, ['channels', 'resize'], 'decodeImage options');
  const channels = o.channels ?? 3;
  if (channels !== 1 && channels !== 3) throw new TypeError(`channels must be 1 or 3, got ${describe(channels)}`);
  const name = typeof input === 'string' ? input : 'image bytes';
  if (typeof input === 'string') {
    try {
      await checkRegularFile(input);
    } catch (error) {
      throw new DatasetFormatError((error as Error).message);
    }
  }
  const maxPixels = getLimits().maxImagePixels;
  let pipeline = sharp()(input, { failOn: 'error', limitInputPixels: maxPixels }).removeAlpha();
  if (o.resize !== undefined) {
    positiveInt(o.resize, 'resize');
    pipeline = pipeline.resize({ width: o.resize, height: o.resize, fit: 'outside', kernel: 'linear' });
  }
  pipeline = channels === 1 ? pipeline.greyscale() : pipeline.toColourspace('srgb');
  let decoded: { data: Buffer; info: Sharp.OutputInfo };
  try {
    decoded = await pipeline.raw().toBuffer({ resolveWithObject: true });
  } catch (error) {
    const message = (error as Error).message;
    if (/pixel limit/i.test(message)) {
      const size = await sharp()(input, { limitInputPixels: false })
        .metadata()
        .then(
          (m) => `${m.width}x${m.height} = ${((m.width ?? 0) * (m.height ?? 0)).toLocaleString('en-US')} pixels`,
          () => 'too large',
        );
      throw new DatasetFormatError(
        `${name}: the image is ${size}, more than the limit of ${maxPixels.toLocaleString('en-US')} (maxImagePixels; ${raiseHint('maxImagePixels')})`,
      );
    }
    throw new DatasetFormatError(`${name}: cannot decode the image (${message})`);
  }
  const { data, info } = decoded;
  let image = imageFromBytesHWC(data, info.channels, info.height, info.width);
  if (image.channels !== channels) image = convertChannels(image, channels);
  return image;
}

/** Grey to RGB by replication, or RGB to grey by BT.709 luma; other counts are an error. */
function convertChannels(image: Image, channels: 1 | 3): Image {
  const plane = image.height * image.width;
  const out = new Float32Array(channels * plane);
  if (image.channels === 1 && channels === 3) {
    for (let c = 0; c < 3; c++) out.set(image.data, c * plane);
  } else if (image.channels >= 3 && channels === 1) {
    const d = image.data;
    for (let i = 0; i < plane; i++) out[i] = 0.2126 * d[i]! + 0.7152 * d[plane + i]! + 0.0722 * d[2 * plane + i]!;
  } else {
    throw new DatasetFormatError(`cannot convert a ${image.channels}-channel image to ${channels} channels`);
  }
  return { data: out, channels, height: image.height, width: image.width };
}
