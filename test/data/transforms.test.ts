import { describe, expect, it } from 'vitest';

import type { Image } from '../../lib/data/image';
import { permutation, Rng } from '../../lib/data/rng';
import {
  centerCrop,
  computeRgbPca,
  greyToRgb,
  horizontalFlip,
  IMAGENET_PCA,
  normalize,
  pcaLighting,
  Pipeline,
  randomCrop,
  resize,
  symmetricEigen3,
  transformFromSpec,
} from '../../lib/data/transforms/index';
import { ciRequiresEverything, compareArrays } from '../helpers';
import { runTorch, torchAvailable } from '../python';

function randomImage(channels: number, height: number, width: number, seed = 1): Image {
  const rng = new Rng(seed);
  const data = new Float32Array(channels * height * width);
  for (let i = 0; i < data.length; i++) data[i] = rng.uniform();
  return { data, channels, height, width };
}

function rampImage(channels: number, height: number, width: number): Image {
  const data = new Float32Array(channels * height * width).map((_, i) => i);
  return { data, channels, height, width };
}

describe('Rng', () => {
  it('gives the same stream for the same seed and stream indices, and different ones otherwise', () => {
    const a = Array.from({ length: 8 }, new Rng(7, 1, 2).nextUint32.bind(new Rng(7, 1, 2)));
    const r1 = new Rng(7, 1, 2);
    const r2 = new Rng(7, 1, 2);
    const r3 = new Rng(7, 1, 3);
    const s1 = Array.from({ length: 8 }, () => r1.nextUint32());
    const s2 = Array.from({ length: 8 }, () => r2.nextUint32());
    const s3 = Array.from({ length: 8 }, () => r3.nextUint32());
    expect(s1).toEqual(s2);
    expect(s1).not.toEqual(s3);
    expect(a).toHaveLength(8);
  });

  it('draws uniform, integer and normal values with the right statistics', () => {
    const rng = new Rng(42);
    const n = 200_000;
    let sum = 0;
    let sumSq = 0;
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < n; i++) {
      const u = rng.uniform();
      expect(u >= 0 && u < 1).toBe(true);
      counts[rng.int(6)]++;
      const z = rng.normal(0, 2);
      sum += z;
      sumSq += z * z;
    }
    for (const c of counts) expect(Math.abs(c / n - 1 / 6)).toBeLessThan(0.005);
    expect(Math.abs(sum / n)).toBeLessThan(0.02);
    expect(Math.abs(Math.sqrt(sumSq / n) - 2)).toBeLessThan(0.02);
  });

  it('builds permutations', () => {
    const p = permutation(1000, 3, 9);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect([...p]).not.toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(permutation(1000, 3, 9)).toEqual(p);
  });

  it('rejects bad arguments', () => {
    expect(() => new Rng(1).int(0)).toThrow(RangeError);
  });
});

describe('resize', () => {
  it('matches PyTorch interpolate(bilinear, align_corners=False, antialias=True) up and down', (ctx) => {
    const torch = torchAvailable();
    if (!torch.ok) {
      if (ciRequiresEverything) throw new Error(torch.reason);
      ctx.skip(torch.reason);
    }
    const cases: [number, number, number, number, number][] = [
      [1, 28, 28, 224, 224], // the d2l recipe
      [1, 28, 28, 96, 96],
      [3, 37, 53, 20, 31], // downsampling: antialiased
      [2, 10, 17, 25, 9], // up in one axis, down in the other
      [3, 64, 48, 64, 48], // identity
    ];
    const inputs: Record<string, { shape: number[]; data: Float32Array }> = {};
    const ours: Record<string, Image> = {};
    cases.forEach(([c, h, w, oh, ow], i) => {
      const image = randomImage(c, h, w, i + 1);
      inputs[`x${i}`] = { shape: [1, c, h, w], data: image.data };
      inputs[`size${i}`] = { shape: [2], data: new Float32Array([oh, ow]) };
      ours[`x${i}`] = resize([oh, ow]).apply(image);
    });
    const script = `
import os, torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
t = load_file(os.environ['IN'])
out = {}
for k in [k for k in t if k.startswith('x')]:
    size = [int(v) for v in t['size' + k[1:]].tolist()]
    out[k] = F.interpolate(t[k].double(), size=size, mode='bilinear', align_corners=False, antialias=True).float().contiguous()
    if size[0] >= t[k].shape[2] and size[1] >= t[k].shape[3]:
        plain = F.interpolate(t[k].double(), size=size, mode='bilinear', align_corners=False).float()
        assert torch.allclose(plain, out[k], atol=1e-6), 'antialias changed an upsampling'
save_file(out, os.environ['OUT'])
`;
    const { outputs } = runTorch(script, inputs);
    for (const name of Object.keys(ours)) {
      const expected = outputs.get(name)!;
      expect(expected.shape.slice(1)).toEqual([ours[name].channels, ours[name].height, ours[name].width]);
      const a = ours[name].data;
      const e = expected.data as Float32Array;
      let worst = 0;
      for (let i = 0; i < e.length; i++) worst = Math.max(worst, Math.abs(a[i] - e[i]));
      expect(worst, `${name}: max abs difference`).toBeLessThan(2e-6);
    }
  });

  it('resizes the shorter side when given one number, as torchvision does', () => {
    const t = resize(15);
    expect(t.outputShape([1, 30, 61])).toEqual([1, 15, 30]);
    expect(t.outputShape([3, 61, 30])).toEqual([3, 30, 15]);
    expect(t.apply(randomImage(1, 30, 61)).width).toBe(30);
  });

  it('keeps constant images constant and returns the input when the size is unchanged', () => {
    const flat: Image = { data: new Float32Array(2 * 9 * 13).fill(0.25), channels: 2, height: 9, width: 13 };
    const up = resize([40, 7]).apply(flat);
    for (const v of up.data) expect(v).toBeCloseTo(0.25, 6);
    expect(resize([9, 13]).apply(flat)).toBe(flat);
  });

  it('resizes 28x28 to 224x224 fast enough to feed a GPU (reported, checked loosely here)', () => {
    const t = resize(224);
    const image = randomImage(1, 28, 28);
    for (let i = 0; i < 50; i++) t.apply(image);
    const n = 400;
    const start = performance.now();
    for (let i = 0; i < n; i++) t.apply(image);
    const perSecond = n / ((performance.now() - start) / 1000);
    console.log(`resize 28x28 -> 224x224: ${perSecond.toFixed(0)} images/s on one thread`);
    expect(perSecond).toBeGreaterThan(500);
  });

  it('rejects bad sizes, naming the parameter', () => {
    expect(() => resize(0)).toThrow(/resize: size must be a positive integer/);
    expect(() => resize([1, 2, 3] as unknown as [number, number])).toThrow(RangeError);
    expect(() => resize('a' as unknown as number)).toThrow(TypeError);
  });
});

describe('crops and flips', () => {
  it('center-crops with Python rounding and pads with zeros when the crop is larger', () => {
    const image = rampImage(1, 5, 6);
    // torchvision: top = round((5 - 2) / 2) = round(1.5) = 2, left = round((6 - 3) / 2) = round(1.5) = 2.
    const c = centerCrop([2, 3]).apply(image);
    expect([...c.data]).toEqual([14, 15, 16, 20, 21, 22]);
    // Larger than the image: torchvision pads (8 - 2) / 2 = 3 columns left and (3 - 1) / 2 = 1 row on top.
    const small = rampImage(1, 1, 2);
    small.data.set([7, 9]);
    const big = centerCrop([3, 8]).apply(small);
    expect([...big.data]).toEqual(Array.from({ length: 24 }, (_, i) => (i === 11 ? 7 : i === 12 ? 9 : 0)));
  });

  it('random-crops reproducibly, reaching every offset', () => {
    const image = rampImage(2, 6, 6);
    const t = randomCrop(4);
    const seen = new Set<number>();
    for (let i = 0; i < 300; i++) {
      const a = t.apply(image, new Rng(5, i));
      const b = t.apply(image, new Rng(5, i));
      expect(a.data).toEqual(b.data);
      seen.add(a.data[0]);
      // The second channel is the same window.
      expect(a.data[16] - a.data[0]).toBe(36);
    }
    expect(seen.size).toBe(9); // 3 x 3 possible corners
  });

  it('random-crops with padding, which brings zeros in', () => {
    const image: Image = { data: new Float32Array(16).fill(1), channels: 1, height: 4, width: 4 };
    const t = randomCrop(4, { padding: 2 });
    let sawZero = false;
    for (let i = 0; i < 50; i++) sawZero ||= t.apply(image, new Rng(1, i)).data.includes(0);
    expect(sawZero).toBe(true);
    expect(() => randomCrop(9).outputShape([1, 4, 4])).toThrow(/does not fit/);
  });

  it('flips with the given probability', () => {
    const image = rampImage(1, 2, 3);
    expect([...horizontalFlip(1).apply(image, new Rng(1)).data]).toEqual([2, 1, 0, 5, 4, 3]);
    expect(horizontalFlip(0).apply(image, new Rng(1))).toBe(image);
    let flips = 0;
    for (let i = 0; i < 1000; i++) if (horizontalFlip(0.5).apply(image, new Rng(2, i)) !== image) flips++;
    expect(flips).toBeGreaterThan(430);
    expect(flips).toBeLessThan(570);
    expect(() => horizontalFlip(2)).toThrow(/horizontalFlip: p must be in \[0, 1\]/);
  });
});

describe('colour', () => {
  it('decomposes a symmetric matrix', () => {
    const m = [
      [4, 1, 0.5],
      [1, 3, 0.25],
      [0.5, 0.25, 2],
    ];
    const { eigenvalues, eigenvectors } = symmetricEigen3(m);
    expect(eigenvalues[0]).toBeGreaterThanOrEqual(eigenvalues[1]);
    expect(eigenvalues[1]).toBeGreaterThanOrEqual(eigenvalues[2]);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const r = [0, 1, 2].reduce((s, k) => s + eigenvectors[k][i] * eigenvalues[k] * eigenvectors[k][j], 0);
        expect(r).toBeCloseTo(m[i][j], 10);
      }
    }
  });

  it('computes RGB principal components that match numpy', (ctx) => {
    const torch = torchAvailable();
    if (!torch.ok) {
      if (ciRequiresEverything) throw new Error(torch.reason);
      ctx.skip(torch.reason);
    }
    const images = [randomImage(3, 8, 8, 1), randomImage(3, 5, 7, 2)];
    // Correlate the channels so the components are distinct.
    for (const im of images) {
      const p = im.height * im.width;
      for (let i = 0; i < p; i++) im.data[p + i] = 0.7 * im.data[i] + 0.3 * im.data[p + i];
    }
    const ours = computeRgbPca(images);
    const pixels = images.flatMap((im) => {
      const p = im.height * im.width;
      return Array.from({ length: p }, (_, i) => [im.data[i], im.data[p + i], im.data[2 * p + i]]);
    });
    const { outputs } = runTorch(
      `
import os, numpy as np, torch
from safetensors.torch import load_file, save_file
x = load_file(os.environ['IN'])['pixels'].double().numpy()
w, v = np.linalg.eigh(np.cov(x.T))
save_file({'w': torch.from_numpy(w[::-1].copy()).float(), 'v': torch.from_numpy(v[:, ::-1].T.copy()).float()}, os.environ['OUT'])
`,
      { pixels: { shape: [pixels.length, 3], data: new Float32Array(pixels.flat()) } },
    );
    compareArrays('eigenvalues', ours.eigenvalues, outputs.get('w')!.data as Float32Array, 1e-5);
    const v = outputs.get('v')!.data as Float32Array;
    for (let k = 0; k < 3; k++) {
      const dot = [0, 1, 2].reduce((s, c) => s + ours.eigenvectors[k][c] * v[3 * k + c], 0);
      expect(Math.abs(dot)).toBeCloseTo(1, 5); // same direction up to sign
    }
  });

  it('adds one colour shift per image: sum_i p_i alpha_i lambda_i with alpha ~ N(0, std)', () => {
    const image = randomImage(3, 4, 5);
    const out = pcaLighting().apply(image, new Rng(3));
    const draw = new Rng(3);
    const alpha = [draw.normal(0, 0.1), draw.normal(0, 0.1), draw.normal(0, 0.1)];
    const { eigenvalues: l, eigenvectors: p } = IMAGENET_PCA;
    const plane = 20;
    for (let c = 0; c < 3; c++) {
      const shift = [0, 1, 2].reduce((s, i) => s + p[i][c] * alpha[i] * l[i], 0);
      for (let k = 0; k < plane; k++) expect(out.data[c * plane + k] - image.data[c * plane + k]).toBeCloseTo(shift, 6);
    }
    expect([...pcaLighting({ std: 0 }).apply(image, new Rng(1)).data]).toEqual([...image.data]);
    expect(() => pcaLighting().outputShape([1, 4, 4])).toThrow(/3 channels/);
  });

  it('normalizes per channel and checks its arguments', () => {
    const image: Image = { data: new Float32Array([0.5, 0.5, 1, 1]), channels: 2, height: 1, width: 2 };
    expect([...normalize([0.5, 0], [0.25, 2]).apply(image).data]).toEqual([0, 0, 0.5, 0.5]);
    expect(() => normalize([0.5], [0])).toThrow(/std must be positive/);
    expect(() => normalize([0.5, 0.5], [1])).toThrow(/mean has 2 values but std has 1/);
    expect(() => normalize([1, 2, 3], [1, 1, 1]).outputShape([2, 1, 1])).toThrow(/3 channel statistics but the image has 2 channels/);
  });

  it('replicates grey into RGB', () => {
    const out = greyToRgb().apply(rampImage(1, 1, 2));
    expect(out.channels).toBe(3);
    expect([...out.data]).toEqual([0, 1, 0, 1, 0, 1]);
  });
});

describe('pipelines', () => {
  it('give the same result from specs as from transform objects', () => {
    const objects = [greyToRgb(), resize(40), randomCrop(32, { padding: 2 }), horizontalFlip(), pcaLighting(), normalize([0.5], [0.25])];
    const fromObjects = new Pipeline(objects);
    const fromSpecs = new Pipeline(JSON.parse(JSON.stringify(fromObjects.specs)));
    expect(fromSpecs.specs).toEqual(fromObjects.specs);
    const image = randomImage(1, 28, 28);
    expect(fromSpecs.apply(image, new Rng(9, 1)).data).toEqual(fromObjects.apply(image, new Rng(9, 1)).data);
    expect(fromObjects.outputShape([1, 28, 28])).toEqual([3, 32, 32]);
  });

  it('has no specs when a custom transform is in it', () => {
    const custom = { outputShape: (s: readonly [number, number, number]) => s, apply: (im: Image) => im };
    expect(new Pipeline([resize(4), custom]).specs).toBeUndefined();
  });

  it('names the bad step', () => {
    expect(() => transformFromSpec({ kind: 'blur' } as never)).toThrow(/unknown transform kind "blur"/);
    expect(() => new Pipeline([{ kind: 'resize', size: -1 }])).toThrow(/transforms\[0\]: resize: size must be a positive integer/);
  });
});
