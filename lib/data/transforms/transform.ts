/**
 * The transform contract, and the plain-data descriptions (specs) of the built-in transforms.
 * A spec can cross a worker-thread boundary and be saved in a checkpoint, which is how prediction
 * applies exactly the preprocessing that evaluation used.
 * @module
 */
import type { Image, ImageShape } from '../image';
import type { Rng } from '../rng';

/** Height and width: one number for both, or [height, width]. */
export type Size2d = number | readonly [number, number];

/** The built-in transforms as plain data (see each transform's factory for the meaning). */
export type TransformSpec =
  | { kind: 'resize'; size: Size2d }
  | { kind: 'centerCrop'; size: Size2d }
  | { kind: 'randomCrop'; size: Size2d; padding?: number }
  | { kind: 'horizontalFlip'; p?: number }
  | { kind: 'pcaLighting'; std?: number; eigenvalues?: readonly number[]; eigenvectors?: readonly (readonly number[])[] }
  | { kind: 'normalize'; mean: readonly number[]; std: readonly number[] }
  | { kind: 'greyToRgb' };

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
  const check = (v: unknown, n: string): number => {
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${n} must be a positive integer, got ${String(v)}`);
    if (v < 1) throw new RangeError(`${n} must be a positive integer, got ${v}`);
    return v;
  };
  if (Array.isArray(size)) {
    if (size.length !== 2) throw new RangeError(`${name} must be a number or [height, width], got an array of length ${size.length}`);
    return [check(size[0], `${name}[0]`), check(size[1], `${name}[1]`)];
  }
  const s = check(size, name);
  return [s, s];
}
