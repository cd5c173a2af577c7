/**
 * The paper's colour augmentation ("fancy PCA", Krizhevsky et al. 2012, section 4.1): to every
 * pixel of an RGB image add sum_i p_i * alpha_i * lambda_i, where p_i and lambda_i are the
 * eigenvectors and eigenvalues of the 3x3 covariance of RGB values over the training set, and
 * alpha_i ~ N(0, 0.1) is drawn once per image.
 *
 * Defaults are ImageNet's published decomposition for pixel values in [0, 1] (the one
 * fb.resnet.torch and most PyTorch recipes use); {@link computeRgbPca} computes another
 * dataset's from its images.
 * @module
 */
import { options as checkOptions } from '../../validate';
import type { Image, ImageShape } from '../image';
import type { Rng } from '../rng';
import type { Transform, TransformSpec } from './transform';

/** Eigenvalues (largest first) and unit eigenvectors ([r, g, b] each) of an RGB covariance. */
export interface RgbPca {
  /** The covariance's eigenvalues, largest first (the paper's lambda_i). */
  eigenvalues: readonly [number, number, number];
  /** The matching unit eigenvectors, each [r, g, b] (the paper's p_i). */
  eigenvectors: readonly [readonly number[], readonly number[], readonly number[]];
}

/** ImageNet's RGB principal components for values in [0, 1] (fb.resnet.torch's constants). */
export const IMAGENET_PCA: RgbPca = Object.freeze({
  eigenvalues: [0.2175, 0.0188, 0.0045] as const,
  eigenvectors: [
    [-0.5675, -0.5808, -0.5836],
    [0.7192, -0.0045, -0.6948],
    [0.4009, -0.814, 0.4203],
  ] as const,
});

/**
 * Eigen decomposition of a symmetric 3x3 matrix by cyclic Jacobi rotations (exact to rounding for
 * a matrix this small). Returns eigenvalues in decreasing order with matching unit eigenvectors.
 */
export function symmetricEigen3(m: readonly (readonly number[])[]): RgbPca {
  const a = m.map((row) => [...row]);
  const v = [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ];
  for (let sweep = 0; sweep < 50; sweep++) {
    const off = a[0]![1]! ** 2 + a[0]![2]! ** 2 + a[1]![2]! ** 2;
    if (off < 1e-30) break;
    for (const [p, q] of [
      [0, 1],
      [0, 2],
      [1, 2],
    ] as const) {
      const apq = a[p]![q]!;
      if (Math.abs(apq) < 1e-300) continue;
      const theta = (a[q]![q]! - a[p]![p]!) / (2 * apq);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1);
      const s = t * c;
      for (let k = 0; k < 3; k++) {
        const akp = a[k]![p]!;
        const akq = a[k]![q]!;
        a[k]![p] = c * akp - s * akq;
        a[k]![q] = s * akp + c * akq;
      }
      for (let k = 0; k < 3; k++) {
        const apk = a[p]![k]!;
        const aqk = a[q]![k]!;
        a[p]![k] = c * apk - s * aqk;
        a[q]![k] = s * apk + c * aqk;
      }
      for (let k = 0; k < 3; k++) {
        const vkp = v[k]![p]!;
        const vkq = v[k]![q]!;
        v[k]![p] = c * vkp - s * vkq;
        v[k]![q] = s * vkp + c * vkq;
      }
    }
  }
  const order = [0, 1, 2].sort((i, j) => a[j]![j]! - a[i]![i]!);
  return {
    eigenvalues: order.map((i) => a[i]![i]!) as unknown as [number, number, number],
    eigenvectors: order.map((i) => [v[0]![i]!, v[1]![i]!, v[2]![i]!]) as unknown as RgbPca['eigenvectors'],
  };
}

/** The principal components of the RGB values of `images` (3-channel, values as the model sees them). */
export function computeRgbPca(images: Iterable<Image>): RgbPca {
  const sum = [0, 0, 0];
  const prod = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  let n = 0;
  for (const image of images) {
    if (image.channels !== 3) throw new RangeError(`computeRgbPca: images must have 3 channels, got ${image.channels}`);
    const plane = image.height * image.width;
    const d = image.data;
    for (let p = 0; p < plane; p++) {
      const rgb = [d[p]!, d[plane + p]!, d[2 * plane + p]!];
      for (let i = 0; i < 3; i++) {
        sum[i]! += rgb[i]!;
        for (let j = i; j < 3; j++) prod[i]![j]! += rgb[i]! * rgb[j]!;
      }
    }
    n += plane;
  }
  if (n < 2) throw new RangeError('computeRgbPca: needs at least two pixels');
  const cov = [0, 1, 2].map((i) =>
    [0, 1, 2].map((j) => {
      const [a, b] = i <= j ? [i, j] : [j, i];
      return (prod[a]![b]! - (sum[a]! * sum[b]!) / n) / (n - 1);
    }),
  );
  return symmetricEigen3(cov);
}

function checkPca(pca: RgbPca): RgbPca {
  const ok =
    Array.isArray(pca.eigenvalues) &&
    pca.eigenvalues.length === 3 &&
    pca.eigenvalues.every((x) => Number.isFinite(x)) &&
    Array.isArray(pca.eigenvectors) &&
    pca.eigenvectors.length === 3 &&
    pca.eigenvectors.every((v) => Array.isArray(v) && v.length === 3 && v.every((x) => Number.isFinite(x)));
  if (!ok) throw new TypeError('pcaLighting: eigenvalues must be 3 numbers and eigenvectors 3 arrays of 3 numbers');
  return pca;
}

/** Adds a random combination of the RGB principal components to every pixel. */
export class PcaLighting implements Transform {
  readonly spec: TransformSpec;
  /** Standard deviation of the alphas (the paper's 0.1). */
  readonly std: number;
  /** The principal components added. */
  readonly pca: RgbPca;

  constructor(options: { std?: number; eigenvalues?: readonly number[]; eigenvectors?: readonly (readonly number[])[] } = {}) {
    checkOptions(options, ['std', 'eigenvalues', 'eigenvectors'], 'pcaLighting options');
    const std = options.std ?? 0.1;
    if (typeof std !== 'number' || !(std >= 0) || !Number.isFinite(std)) {
      throw new RangeError(`pcaLighting: std must be a non-negative number, got ${String(std)}`);
    }
    this.std = std;
    this.pca = checkPca({
      eigenvalues: (options.eigenvalues ?? IMAGENET_PCA.eigenvalues) as RgbPca['eigenvalues'],
      eigenvectors: (options.eigenvectors ?? IMAGENET_PCA.eigenvectors) as RgbPca['eigenvectors'],
    });
    this.spec = {
      kind: 'pcaLighting',
      std,
      eigenvalues: [...this.pca.eigenvalues],
      eigenvectors: this.pca.eigenvectors.map((v) => [...v]),
    };
  }

  outputShape(shape: ImageShape): ImageShape {
    if (shape[0] !== 3) throw new RangeError(`pcaLighting: needs an RGB image (3 channels), got ${shape[0]} channels`);
    return shape;
  }

  apply(image: Image, rng: Rng): Image {
    this.outputShape([image.channels, image.height, image.width]);
    const { eigenvalues: lambda, eigenvectors: p } = this.pca;
    const scaled = [0, 1, 2].map((i) => rng.normal(0, this.std) * lambda[i]!);
    const plane = image.height * image.width;
    const out = new Float32Array(image.data.length);
    for (let c = 0; c < 3; c++) {
      const shift = p[0][c]! * scaled[0]! + p[1][c]! * scaled[1]! + p[2][c]! * scaled[2]!;
      const base = c * plane;
      for (let i = 0; i < plane; i++) out[base + i] = image.data[base + i]! + shift;
    }
    return { ...image, data: out };
  }
}

/** The paper's PCA colour augmentation; alpha ~ N(0, std) with std 0.1 by default, ImageNet's components by default. */
export function pcaLighting(
  options: { std?: number; eigenvalues?: readonly number[]; eigenvectors?: readonly (readonly number[])[] } = {},
): PcaLighting {
  return new PcaLighting(options);
}
