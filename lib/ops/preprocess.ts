/**
 * Image bytes to a model's input on the device: uint8 [N, C, H, W] to float32 [N, C', OH, OW],
 * exactly as the TypeScript transforms compute it (bytes / 255, bilinear resize with resize.ts's
 * filter, grey copied into three channels, per-channel normalization), bit for bit. The loader uses
 * it when a pipeline is only those (lib/data/devicePreprocess.ts).
 * @module
 */
import type { Tensor } from '../tensor';
import { native, sameBackend, wrap } from './common';
import { positiveInt } from '../validate';

/** Array.isArray without narrowing a typed array to any[] (JavaScript callers may pass anything). */
function isArray(value: unknown): boolean {
  return Array.isArray(value);
}

/** Options of {@link preprocess}. */
export interface PreprocessOptions {
  /** Output channels: the input's, or 3 from a grey (1-channel) input. */
  channels: number;
  /** Output height (a bilinear resize when it differs from the input's). */
  height: number;
  /** Output width. */
  width: number;
  /** (x - mean[c]) / std[c] after the resize, one value per output channel or one for all; none when absent. */
  normalize?: {
    /** Means subtracted, per output channel or one for all. */
    mean: readonly number[];
    /** Standard deviations divided by, likewise. */
    std: readonly number[];
  };
}

/**
 * float32 [N, channels, height, width] from uint8 [N, C, H, W] image bytes, or [N, H, W] grey ones
 * (see the module notes).
 */
export function preprocess(bytes: Tensor<'uint8'>, options: PreprocessOptions): Tensor<'float32'> {
  const backend = sameBackend('preprocess', { bytes });
  if (bytes.shape.length === 3) {
    const [n, h, w] = bytes.shape as [number, number, number];
    const grey = bytes.slice(0, [n, 1, h, w]);
    try {
      return preprocess(grey, options);
    } finally {
      grey.dispose();
    }
  }
  const channels = positiveInt(options?.channels, 'channels');
  const height = positiveInt(options.height, 'height');
  const width = positiveInt(options.width, 'width');
  let normalize = null;
  if (options.normalize) {
    const { mean, std } = options.normalize;
    if (!isArray(mean) || !isArray(std) || mean.length !== std.length) {
      throw new TypeError('preprocess: normalize.mean and normalize.std must be arrays of the same length');
    }
    if (std.some((s) => !(s > 0))) throw new RangeError('preprocess: every normalize.std must be positive');
    // 1 / std in doubles, as Normalize.apply computes it (the op multiplies by this).
    normalize = { mean: [...mean], invStd: std.map((s) => 1 / s) };
  }
  return wrap(
    backend,
    native(() => backend.native.preprocess(bytes.handle, channels, height, width, normalize)),
  );
}
