/**
 * The preprocess op (image bytes to a model's input on the device) against the TypeScript
 * transforms it replaces, bit for bit: bytes / 255, bilinear resize up (28 to 224, the d2l recipe)
 * and down (antialiased), one axis only, to the same size (no resize), the shorter side, grey to
 * RGB, normalization per channel and for all channels. Then which pipelines the loader may hand to
 * the device (devicePreprocessPlan), and the loader itself: batches through the device path equal
 * those through the host path.
 */
import { describe, expect, it } from 'vitest';

import { getBackend } from '../../lib/backend/backend';
import { ArrayDataset } from '../../lib/data/arrayDataset';
import { devicePreprocessPlan } from '../../lib/data/devicePreprocess';
import { imageFromBytesCHW } from '../../lib/data/image';
import { DataLoader } from '../../lib/data/loader';
import { Rng } from '../../lib/data/rng';
import { Pipeline } from '../../lib/data/transforms/pipeline';
import type { TransformSpec } from '../../lib/data/transforms/transform';
import { preprocess } from '../../lib/ops/preprocess';
import { Tensor } from '../../lib/tensor';

const backend = () => getBackend('cpu');

function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** The transforms' result for every image, packed as a batch. */
function hostBatch(bytes: Uint8Array, [n, c, h, w]: number[], specs: TransformSpec[]): { data: Float32Array; shape: number[] } {
  const pipeline = new Pipeline(specs);
  const parts = [];
  for (let i = 0; i < n; i++) parts.push(pipeline.apply(imageFromBytesCHW(bytes, c, h, w, i * c * h * w), new Rng(0, 0, i)));
  const first = parts[0];
  const data = new Float32Array(n * first.data.length);
  parts.forEach((p, i) => data.set(p.data, i * first.data.length));
  return { data, shape: [n, first.channels, first.height, first.width] };
}

function expectSameBits(what: string, got: Float32Array, want: Float32Array): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  const a = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const b = new Uint32Array(want.buffer, want.byteOffset, want.length);
  const first = a.findIndex((v, i) => v !== b[i]);
  expect(first, `${what}: first differing element (got ${got[first]}, want ${want[first]})`).toBe(-1);
}

const CASES: [string, number[], TransformSpec[]][] = [
  ['28x28 grey resized to 224 (the d2l recipe)', [3, 1, 28, 28], [{ kind: 'resize', size: [224, 224] }]],
  ['grey to RGB, then resized to 64', [2, 1, 28, 28], [{ kind: 'greyToRgb' }, { kind: 'resize', size: [64, 64] }]],
  ['resized, then grey to RGB', [2, 1, 28, 28], [{ kind: 'resize', size: [40, 36] }, { kind: 'greyToRgb' }]],
  ['RGB 32x32 downsampled to 20x17 (antialiased)', [2, 3, 32, 32], [{ kind: 'resize', size: [20, 17] }]],
  ['RGB 32x29, only the width changes', [2, 3, 32, 29], [{ kind: 'resize', size: [32, 40] }]],
  ['the shorter side to 16', [2, 3, 40, 25], [{ kind: 'resize', size: 16 }]],
  ['a resize to the same size (none)', [2, 3, 12, 12], [{ kind: 'resize', size: [12, 12] }]],
  ['no transforms (bytes / 255)', [2, 3, 9, 7], []],
  [
    'CIFAR: resized to 48 and normalized per channel',
    [2, 3, 32, 32],
    [
      { kind: 'resize', size: [48, 48] },
      { kind: 'normalize', mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
    ],
  ],
  ['grey normalized with one mean, then to RGB', [2, 1, 10, 10], [{ kind: 'normalize', mean: [0.5], std: [0.25] }, { kind: 'greyToRgb' }]],
];

describe('preprocess: image bytes to a model input, bit for bit as the transforms', () => {
  for (const [name, shape, specs] of CASES) {
    it(name, async () => {
      const n = shape.reduce((a, b) => a * b, 1);
      const bytes = randomBytes(n, shape.join('').length + specs.length);
      const want = hostBatch(bytes, shape, specs);
      const plan = devicePreprocessPlan(specs, [shape[1], shape[2], shape[3]]);
      expect(plan, 'the pipeline runs on the device').not.toBeNull();
      expect([shape[0], plan!.channels, plan!.height, plan!.width]).toEqual(want.shape);
      const input = Tensor.fromArray(bytes, shape, { backend: backend(), dtype: 'uint8' });
      const out = preprocess(input, plan!);
      expect([...out.shape]).toEqual(want.shape);
      expectSameBits(name, await out.toArray(), want.data);
      input.dispose();
      out.dispose();
    });
  }

  it('every byte value converts as imageFromBytesCHW converts it', async () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const input = Tensor.fromArray(bytes, [1, 1, 16, 16], { backend: backend(), dtype: 'uint8' });
    const out = preprocess(input, { channels: 1, height: 16, width: 16 });
    expectSameBits('0..255', await out.toArray(), imageFromBytesCHW(bytes, 1, 16, 16).data);
    input.dispose();
    out.dispose();
  });

  it('takes [N, H, W] grey bytes as [N, 1, H, W]', async () => {
    const bytes = randomBytes(2 * 28 * 28, 5);
    const flat = Tensor.fromArray(bytes, [2, 28, 28], { backend: backend(), dtype: 'uint8' });
    const out = preprocess(flat, { channels: 3, height: 56, width: 56 });
    expectSameBits(
      '[N, H, W]',
      await out.toArray(),
      hostBatch(bytes, [2, 1, 28, 28], [{ kind: 'greyToRgb' }, { kind: 'resize', size: [56, 56] }]).data,
    );
    flat.dispose();
    out.dispose();
  });

  it('rejects bad arguments with errors naming them', () => {
    const bytes = Tensor.fromArray(new Uint8Array(2 * 2 * 16), [2, 2, 4, 4], { backend: backend(), dtype: 'uint8' });
    expect(() => preprocess(bytes, { channels: 2, height: 4, width: 4 })).toThrow(/preprocess: input must have 1 or 3 channels, got 2/);
    const grey = Tensor.fromArray(new Uint8Array(16), [1, 1, 4, 4], { backend: backend(), dtype: 'uint8' });
    expect(() => preprocess(grey, { channels: 2, height: 4, width: 4 })).toThrow(/outChannels must be 1 or 3, got 2/);
    expect(() => preprocess(grey, { channels: 1, height: 0, width: 4 })).toThrow(/height must be a positive integer/);
    expect(() => preprocess(grey, { channels: 3, height: 4, width: 4, normalize: { mean: [0, 0], std: [1, 1] } })).toThrow(
      /normalize.mean must hold 1 or 3 values, got 2/,
    );
    expect(() => preprocess(grey, { channels: 1, height: 4, width: 4, normalize: { mean: [0], std: [0] } })).toThrow(
      /std must be positive/,
    );
    for (const t of [bytes, grey]) t.dispose();
  });
});

describe('which pipelines the device can run', () => {
  const grey: [number, number, number] = [1, 28, 28];
  it('only greyToRgb, resize and normalize, normalize after the resize', () => {
    expect(devicePreprocessPlan([{ kind: 'resize', size: [224, 224] }], grey)).toEqual({
      inputShape: grey,
      channels: 1,
      height: 224,
      width: 224,
    });
    expect(devicePreprocessPlan([{ kind: 'randomCrop', size: 24 }], grey)).toBeNull();
    expect(devicePreprocessPlan([{ kind: 'horizontalFlip' }], grey)).toBeNull();
    expect(
      devicePreprocessPlan(
        [
          { kind: 'normalize', mean: [0.5], std: [0.5] },
          { kind: 'resize', size: 32 },
        ],
        grey,
      ),
    ).toBeNull();
    expect(
      devicePreprocessPlan(
        [
          { kind: 'resize', size: 32 },
          { kind: 'resize', size: 16 },
        ],
        grey,
      ),
    ).toBeNull();
    expect(devicePreprocessPlan([{ kind: 'normalize', mean: [0.1, 0.2, 0.3], std: [1, 1, 1] }, { kind: 'greyToRgb' }], grey)).toBeNull();
    expect(devicePreprocessPlan(undefined, grey)).toBeNull(); // a custom transform
    expect(devicePreprocessPlan([], [2, 8, 8])).toBeNull(); // 2-channel images
  });
});

describe('the loader with devicePreprocess', () => {
  const images = randomBytes(10 * 28 * 28, 7);
  const dataset = new ArrayDataset({
    images,
    labels: Array.from({ length: 10 }, (_, i) => i % 3),
    shape: [1, 28, 28],
    classes: ['a', 'b', 'c'],
  });

  it('gives the batches of the host path, bit for bit', async () => {
    const transform: TransformSpec[] = [{ kind: 'greyToRgb' }, { kind: 'resize', size: [64, 64] }];
    const options = { batchSize: 4, shuffle: true, seed: 3, transform, backend: backend(), workers: 0 };
    const host = new DataLoader(dataset, { ...options, devicePreprocess: false });
    const device = new DataLoader(dataset.subset([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]).subset([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]), {
      ...options,
      devicePreprocess: true,
    });
    expect(host.devicePreprocess).toBe(false);
    expect(device.devicePreprocess).toBe(true);
    for (const epoch of [0, 1]) {
      const a = [];
      for await (const b of host.batches(epoch)) a.push(b);
      let i = 0;
      for await (const b of device.batches(epoch)) {
        expect([...b.input.shape]).toEqual([...a[i].input.shape]);
        expectSameBits(`epoch ${epoch} batch ${i}`, await b.input.toArray(), await a[i].input.toArray());
        expect(Array.from(await b.labels.toArray())).toEqual(Array.from(await a[i].labels.toArray()));
        b.dispose();
        a[i].dispose();
        i++;
      }
      expect(i).toBe(a.length);
    }
  });

  it("is used on 'auto' only on the CUDA backend, and a TypeError when asked for where it cannot be done", () => {
    const resize: TransformSpec[] = [{ kind: 'resize', size: [32, 32] }];
    expect(new DataLoader(dataset, { batchSize: 2, transform: resize, backend: backend() }).devicePreprocess).toBe(false);
    expect(
      () => new DataLoader(dataset, { batchSize: 2, transform: [{ kind: 'horizontalFlip' }], backend: backend(), devicePreprocess: true }),
    ).toThrow(/devicePreprocess: needs a dataset of image bytes in memory/);
    expect(() => new DataLoader(dataset, { batchSize: 2, backend: backend(), devicePreprocess: 'yes' as unknown as boolean })).toThrow(
      /devicePreprocess must be true, false or 'auto', got/,
    );
  });
});
