/**
 * Deciding when a loader can hand the device image bytes instead of float32 images: when the
 * pipeline is only grey-to-RGB, resize and normalize (the d2l recipe's Fashion-MNIST resize to 224
 * is one), the device's preprocess op (lib/ops/preprocess.ts) computes exactly what the
 * TypeScript transforms compute, bit for bit, from 1 byte per value instead of 4, and the host only
 * gathers bytes. Resize and grey-to-RGB commute exactly (the resize treats channels alike); a
 * normalization must come after the resize (a resize of normalized values rounds differently), and
 * may only be followed by grey-to-RGB when it has one mean and one std.
 * @module
 */
import type { PreprocessOptions } from '../ops/preprocess';
import type { ImageShape } from './image';
import { Pipeline } from './transforms/pipeline';
import type { TransformSpec } from './transforms/transform';

/** What the preprocess op is asked for (see lib/ops/preprocess.ts), and the images' stored shape. */
export interface DevicePreprocessPlan extends PreprocessOptions {
  /** The images' shape as stored ([C, H, W] bytes). */
  inputShape: ImageShape;
}

/**
 * The plan that reproduces `specs` on images of `shape` on the device, or null when the pipeline
 * holds anything else (crops, flips, colour noise, custom transforms) or an order the op cannot
 * reproduce bit for bit.
 */
export function devicePreprocessPlan(specs: readonly TransformSpec[] | undefined, shape: ImageShape): DevicePreprocessPlan | null {
  if (!specs) return null;
  const kinds = specs.map((s) => s.kind);
  if (kinds.some((k) => k !== 'greyToRgb' && k !== 'resize' && k !== 'normalize')) return null;
  if (new Set(kinds).size !== kinds.length) return null;
  const [c] = shape;
  if (c !== 1 && c !== 3) return null;
  const normalizeAt = kinds.indexOf('normalize');
  let normalize: DevicePreprocessPlan['normalize'];
  if (normalizeAt >= 0) {
    const after = kinds.slice(normalizeAt + 1);
    const spec = specs[normalizeAt] as Extract<TransformSpec, { kind: 'normalize' }>;
    if (after.includes('resize')) return null;
    if (after.includes('greyToRgb') && spec.mean.length !== 1) return null;
    normalize = { mean: spec.mean, std: spec.std };
  }
  let out: ImageShape;
  try {
    out = new Pipeline(specs).outputShape(shape);
  } catch {
    return null; // the pipeline cannot take these images: the host path reports it
  }
  if (normalize && normalize.mean.length !== 1 && normalize.mean.length !== out[0]) return null;
  return { inputShape: shape, channels: out[0], height: out[1], width: out[2], ...(normalize ? { normalize } : {}) };
}
