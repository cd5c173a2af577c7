/**
 * The transform contract, and the plain-data descriptions (specs) of the built-in transforms.
 * A spec can cross a worker-thread boundary and be saved in a checkpoint, which is how prediction
 * applies exactly the preprocessing that evaluation used.
 * @module
 */
import type { Image, ImageShape } from '../image';
import type { Rng } from '../rng';
import { pairOf, positiveInt } from '../../validate';

/** Height and width: one number for both, or [height, width]. */
export type Size2d = number | readonly [number, number];

/** The built-in transforms as plain data (see each transform's factory for the meaning). */
export type TransformSpec =
  | {
      /** Bilinear resize ({@link Resize}). */
      kind: 'resize';
      /** [height, width], or the shorter side. */
      size: Size2d;
    }
  | {
      /** Center crop ({@link CenterCrop}). */
      kind: 'centerCrop';
      /** [height, width] or a square's side. */
      size: Size2d;
    }
  | {
      /** Random crop ({@link RandomCrop}). */
      kind: 'randomCrop';
      /** [height, width] or a square's side. */
      size: Size2d;
      /** Zeros added on every side first (default 0). */
      padding?: number;
    }
  | {
      /** Random horizontal flip ({@link HorizontalFlip}). */
      kind: 'horizontalFlip';
      /** Probability of a flip (default 0.5). */
      p?: number;
    }
  | {
      /** The paper's PCA colour noise ({@link PcaLighting}). */
      kind: 'pcaLighting';
      /** Standard deviation of the alphas (default 0.1). */
      std?: number;
      /** Eigenvalues of the RGB covariance (default ImageNet's). */
      eigenvalues?: readonly number[];
      /** Eigenvectors, each [r, g, b] (default ImageNet's). */
      eigenvectors?: readonly (readonly number[])[];
    }
  | {
      /** Per-channel normalization ({@link Normalize}). */
      kind: 'normalize';
      /** Means, one per channel or one for all. */
      mean: readonly number[];
      /** Standard deviations, one per channel or one for all. */
      std: readonly number[];
    }
  | {
      /** Grey to RGB ({@link GreyToRgb}). */
      kind: 'greyToRgb';
    };

/** An image-to-image step. Random transforms draw only from the `rng` they are given. */
export interface Transform {
  /** The plain-data description; absent for custom transforms (which then run on the main thread only). */
  readonly spec?: TransformSpec;
  /** The output shape for an input shape; throws a RangeError for an input it cannot take. */
  outputShape(shape: ImageShape): ImageShape;
  /** Returns the transformed image (a new one, or the input when nothing changes). */
  apply(image: Image, rng: Rng): Image;
}

/** Checks a size argument and returns [height, width]. */
export function sizePair(size: unknown, name: string): [number, number] {
  return pairOf(size, name, positiveInt);
}
