/**
 * Bilinear resizing with the sampling convention of torchvision and PyTorch:
 * F.interpolate(mode='bilinear', align_corners=False, antialias=True), which is also PIL's
 * BILINEAR filter. Output pixel o samples the input at (o + 0.5) * in / out - 0.5, edges clamped.
 * When upsampling (Fashion-MNIST's 28 to 224) this is plain two-tap interpolation and antialiasing
 * changes nothing; when downsampling, the triangle filter widens by the scale factor so every
 * input pixel contributes (no aliasing), as torchvision's antialias does.
 *
 * Speed matters here (the d2l recipe resizes every training image to 224x224): the taps and
 * weights of each output row and column are computed once per size pair and kept, and the resize
 * runs as two separable passes over typed arrays.
 *
 * One difference from d2l: its Resize runs on a PIL image and rounds to 8 bits before ToTensor;
 * this works in float32 and does not round (differences up to 0.5 / 255).
 * @module
 */
import { checkImagePixels } from '../../limits';
import type { Image, ImageShape } from '../image';
import { sizePair, type Size2d, type Transform, type TransformSpec } from './transform';

/** For each output index: its first input index, tap count and weights (padded to `taps`). */
export interface ResampleTable {
  /** Input samples along the axis. */
  readonly inSize: number;
  /** Output samples along the axis. */
  readonly outSize: number;
  /** The stride of `weights` (the most taps any output uses). */
  readonly taps: number;
  /** Each output's first input index. */
  readonly first: Int32Array;
  /** Each output's number of taps. */
  readonly count: Int32Array;
  /** Each output's tap weights (summing to 1), at `output * taps`. */
  readonly weights: Float32Array;
}

/** The triangle (bilinear) filter's taps and weights for resampling `inSize` samples to `outSize`. */
export function bilinearTable(inSize: number, outSize: number): ResampleTable {
  const scale = inSize / outSize;
  // Downsampling widens the filter's support by the scale (antialiasing); upsampling keeps it at 1.
  const filterScale = Math.max(scale, 1);
  const support = filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * taps);
  const w = new Float64Array(taps);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    // Truncation toward zero, then clamping, exactly as PIL and PyTorch compute the window.
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
    let n = 0;
    let total = 0;
    for (let i = lo; i < hi; i++) {
      const x = Math.abs((i - center + 0.5) / filterScale);
      const v = x < 1 ? 1 - x : 0;
      w[n++] = v;
      total += v;
    }
    first[o] = lo;
    count[o] = n;
    for (let k = 0; k < n; k++) weights[o * taps + k] = total > 0 ? w[k]! / total : 0;
  }
  return { inSize, outSize, taps, first, count, weights };
}

/** Resizes one channel plane per pass; `scratch` holds the horizontally resized rows. */
function resizePlanes(image: Image, outH: number, outW: number, rows: ResampleTable, cols: ResampleTable): Image {
  const { channels, height: inH, width: inW, data: src } = image;
  const out = new Float32Array(channels * outH * outW);
  const scratch = new Float32Array(inH * outW);
  const { first: cFirst, count: cCount, weights: cW, taps: cTaps } = cols;
  const { first: rFirst, count: rCount, weights: rW, taps: rTaps } = rows;
  for (let c = 0; c < channels; c++) {
    const plane = c * inH * inW;
    // Horizontal pass: every input row to outW samples.
    for (let y = 0; y < inH; y++) {
      const row = plane + y * inW;
      const dst = y * outW;
      for (let x = 0; x < outW; x++) {
        const f = row + cFirst[x]!;
        const n = cCount[x]!;
        const wo = x * cTaps;
        let acc = 0;
        for (let k = 0; k < n; k++) acc += src[f + k]! * cW[wo + k]!;
        scratch[dst + x] = acc;
      }
    }
    // Vertical pass, row by row so the inner loop runs along contiguous memory.
    const outPlane = c * outH * outW;
    for (let y = 0; y < outH; y++) {
      const dst = outPlane + y * outW;
      const f = rFirst[y]!;
      const n = rCount[y]!;
      const wo = y * rTaps;
      const w0 = rW[wo]!;
      const s0 = f * outW;
      if (n === 2) {
        // The common case (any upsampling): one fused pass.
        const w1 = rW[wo + 1]!;
        const s1 = s0 + outW;
        for (let x = 0; x < outW; x++) out[dst + x] = scratch[s0 + x]! * w0 + scratch[s1 + x]! * w1;
        continue;
      }
      for (let x = 0; x < outW; x++) out[dst + x] = scratch[s0 + x]! * w0;
      for (let k = 1; k < n; k++) {
        const wk = rW[wo + k]!;
        const sk = (f + k) * outW;
        for (let x = 0; x < outW; x++) out[dst + x] = out[dst + x]! + scratch[sk + x]! * wk;
      }
    }
  }
  return { data: out, channels, height: outH, width: outW };
}

/**
 * Bilinear resize as torchvision's (align_corners=False, antialiased when downsampling), in float32
 * without rounding to 8 bits; the filter tables are cached per size pair.
 */
export class Resize implements Transform {
  readonly spec: TransformSpec;
  readonly #size: [number, number] | number;
  readonly #tables = new Map<string, ResampleTable>();

  /**
   * `size` as [height, width] resizes to exactly that; a single number resizes the shorter side
   * to it and keeps the aspect ratio (torchvision's Resize(int): the longer side becomes
   * floor(size * long / short)).
   */
  constructor(size: Size2d) {
    this.#size = Array.isArray(size) ? sizePair(size, 'resize: size') : sizePair(size, 'resize: size')[0];
    if (Array.isArray(this.#size)) checkImagePixels(this.#size[0], this.#size[1], 'resize: the output');
    this.spec = { kind: 'resize', size: Array.isArray(size) ? [...(this.#size as [number, number])] : this.#size };
  }

  /** The output shape for an input shape; a RangeError when the output would exceed the image limit (maxImagePixels). */
  outputShape([c, h, w]: ImageShape): ImageShape {
    if (Array.isArray(this.#size)) return [c, this.#size[0], this.#size[1]];
    const s = this.#size;
    const out: ImageShape = h <= w ? [c, s, Math.floor((s * w) / h)] : [c, Math.floor((s * h) / w), s];
    checkImagePixels(out[1], out[2], `resize: the output for a ${w}x${h} image`);
    return out;
  }

  #table(inSize: number, outSize: number): ResampleTable {
    const key = `${inSize}>${outSize}`;
    let t = this.#tables.get(key);
    if (!t) {
      t = bilinearTable(inSize, outSize);
      this.#tables.set(key, t);
    }
    return t;
  }

  apply(image: Image): Image {
    const [, outH, outW] = this.outputShape([image.channels, image.height, image.width]);
    if (outH === image.height && outW === image.width) return image;
    return resizePlanes(image, outH, outW, this.#table(image.height, outH), this.#table(image.width, outW));
  }
}

/** Bilinear resize to [height, width], or of the shorter side to `size` keeping the aspect ratio. */
export function resize(size: Size2d): Resize {
  return new Resize(size);
}
