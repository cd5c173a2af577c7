/**
 * A sequence of transforms applied in order, built from Transform objects or their specs.
 * @module
 */
import { describe, options as checkOptions } from '../../validate';
import { checkImage, type Image, type ImageShape } from '../image';
import type { Rng } from '../rng';
import { CenterCrop, RandomCrop } from './crop';
import { HorizontalFlip } from './flip';
import { GreyToRgb } from './greyToRgb';
import { Normalize } from './normalize';
import { PcaLighting } from './pcaLighting';
import { Resize } from './resize';
import type { Transform, TransformSpec } from './transform';

/** The keys each kind of spec may have. */
const SPEC_KEYS: Readonly<Record<TransformSpec['kind'], readonly string[]>> = Object.freeze({
  resize: ['kind', 'size'],
  centerCrop: ['kind', 'size'],
  randomCrop: ['kind', 'size', 'padding'],
  horizontalFlip: ['kind', 'p'],
  pcaLighting: ['kind', 'std', 'eigenvalues', 'eigenvectors'],
  normalize: ['kind', 'mean', 'std'],
  greyToRgb: ['kind'],
});

/** Builds the transform a spec describes; throws a TypeError naming an unknown kind or option. */
export function transformFromSpec(spec: TransformSpec): Transform {
  if (spec === null || typeof spec !== 'object') throw new TypeError(`a transform spec must be an object, got ${describe(spec)}`);
  const keys = Object.hasOwn(SPEC_KEYS, spec.kind) ? SPEC_KEYS[spec.kind] : undefined;
  if (keys) checkOptions(spec as unknown as Record<string, unknown>, keys, `${spec.kind} spec`);
  switch (spec.kind) {
    case 'resize':
      return new Resize(spec.size);
    case 'centerCrop':
      return new CenterCrop(spec.size);
    case 'randomCrop':
      return new RandomCrop(spec.size, spec.padding === undefined ? {} : { padding: spec.padding });
    case 'horizontalFlip':
      return new HorizontalFlip(spec.p);
    case 'pcaLighting': {
      const { kind: _kind, ...options } = spec;
      return new PcaLighting(options);
    }
    case 'normalize':
      return new Normalize(spec.mean, spec.std);
    case 'greyToRgb':
      return new GreyToRgb();
    default:
      throw new TypeError(`unknown transform kind ${JSON.stringify((spec as { kind?: unknown }).kind)}`);
  }
}

/** What a pipeline accepts: transforms, specs, or a mix. */
export type TransformList = readonly (Transform | TransformSpec)[];

function isTransform(value: unknown): value is Transform {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as Transform).apply === 'function' &&
    typeof (value as Transform).outputShape === 'function'
  );
}

/** Transforms applied in order. */
export class Pipeline {
  /** The steps, in order. */
  readonly transforms: readonly Transform[];

  constructor(list: TransformList = []) {
    if (!Array.isArray(list)) throw new TypeError(`transforms must be an array, got ${describe(list)}`);
    this.transforms = list.map((t, i) => {
      if (isTransform(t)) return t;
      try {
        return transformFromSpec(t as TransformSpec);
      } catch (error) {
        if (error instanceof TypeError || error instanceof RangeError) {
          const Ctor = error.constructor as new (message: string) => Error;
          throw new Ctor(`transforms[${i}]: ${error.message}`);
        }
        throw error;
      }
    });
  }

  /** The specs of every step, or undefined when a custom transform has none (it cannot leave the main thread). */
  get specs(): TransformSpec[] | undefined {
    const specs = this.transforms.map((t) => t.spec);
    return specs.every((s) => s !== undefined) ? specs : undefined;
  }

  /** The output shape for an input shape (throws a RangeError naming the step that cannot take it). */
  outputShape(shape: ImageShape): ImageShape {
    return this.transforms.reduce<ImageShape>((s, t) => t.outputShape(s), shape);
  }

  /** Runs every step; `rng` is shared by the random steps, in order. */
  apply(image: Image, rng: Rng): Image {
    let out = image;
    for (const t of this.transforms) out = t.apply(out, rng);
    return checkImage(out, 'transformed image');
  }
}
