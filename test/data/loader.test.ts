import { describe, expect, it } from 'vitest';

import { ArrayDataset } from '../../lib/data/arrayDataset';
import type { Dataset, Sample } from '../../lib/data/dataset';
import { DataLoader } from '../../lib/data/loader';
import { horizontalFlip, normalize, randomCrop, resize } from '../../lib/data/transforms/index';
import { ensureDist } from '../cli/dist';

const backend = 'cpu' as const;

function dataset(n: number, classes = 3): ArrayDataset {
  const images = new Uint8Array(n * 2 * 4 * 4);
  for (let i = 0; i < images.length; i++) images[i] = (i * 7 + Math.floor(i / 32)) % 256;
  return new ArrayDataset({
    images,
    labels: Array.from({ length: n }, (_, i) => i % classes),
    shape: [2, 4, 4],
    classes: Array.from({ length: classes }, (_, i) => `c${i}`),
  });
}

async function collect(
  loader: DataLoader,
  epoch = 0,
  start = 0,
): Promise<{ input: Float32Array[]; labels: Int32Array[]; sizes: number[] }> {
  const input: Float32Array[] = [];
  const labels: Int32Array[] = [];
  const sizes: number[] = [];
  for await (const batch of loader.batches(epoch, start)) {
    expect(batch.input.shape[0]).toBe(batch.size);
    input.push(await batch.input.toArray());
    labels.push(await batch.labels.toArray());
    sizes.push(batch.size);
    batch.dispose();
  }
  return { input, labels, sizes };
}

const augment = [randomCrop(3, { padding: 1 }), horizontalFlip(), resize(5), normalize([0.5], [0.25])];

describe('DataLoader', () => {
  it('hands out [N, C, H, W] float32 batches and int32 labels on the backend, the last one partial', async () => {
    const loader = new DataLoader(dataset(10), { batchSize: 4, backend });
    expect(loader.batchesPerEpoch).toBe(3);
    const seen: number[] = [];
    for await (const batch of loader.batches()) {
      expect(batch.input.dtype).toBe('float32');
      expect(batch.labels.dtype).toBe('int32');
      expect(batch.input.backend.kind).toBe('cpu');
      expect(batch.input.shape.slice(1)).toEqual([2, 4, 4]);
      seen.push(batch.size);
      batch.dispose();
    }
    expect(seen).toEqual([4, 4, 2]);
    const dropped = new DataLoader(dataset(10), { batchSize: 4, dropLast: true, backend });
    expect((await collect(dropped)).sizes).toEqual([4, 4]);
  });

  it('keeps the values and labels of the dataset, in order without shuffling', async () => {
    const ds = dataset(5);
    const { input, labels } = await collect(new DataLoader(ds, { batchSize: 5, backend }));
    expect([...labels[0]]).toEqual([0, 1, 2, 0, 1]);
    expect(input[0].subarray(32, 64)).toEqual(ds.get(1).image.data);
  });

  it('shuffles reproducibly per seed and epoch, visiting every sample once per epoch', () => {
    const a = new DataLoader(dataset(100), { batchSize: 8, shuffle: true, seed: 3, backend });
    const b = new DataLoader(dataset(100), { batchSize: 8, shuffle: true, seed: 3, backend });
    const c = new DataLoader(dataset(100), { batchSize: 8, shuffle: true, seed: 4, backend });
    expect(a.order(2)).toEqual(b.order(2));
    expect(a.order(2)).not.toEqual(a.order(3));
    expect(a.order(2)).not.toEqual(c.order(2));
    expect([...a.order(5)].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('regenerates any (epoch, batch) exactly, so a resumed run sees the same data', async () => {
    const make = () => new DataLoader(dataset(30), { batchSize: 4, shuffle: true, seed: 11, transform: augment, backend });
    const full = await collect(make(), 2);
    const resumed = await collect(make(), 2, 5);
    expect(resumed.input).toEqual(full.input.slice(5));
    expect(resumed.labels).toEqual(full.labels.slice(5));
    // Augmentation depends on (seed, epoch, sample) only, not on the batch a sample falls in.
    const ones = await collect(new DataLoader(dataset(30), { batchSize: 1, shuffle: true, seed: 11, transform: augment, backend }), 2);
    const flatFull = Float32Array.from(full.input.flatMap((x) => [...x]));
    const flatOnes = Float32Array.from(ones.input.flatMap((x) => [...x]));
    expect(flatOnes).toEqual(flatFull);
    // ...and differs between epochs.
    expect((await collect(make(), 3)).input).not.toEqual(full.input);
  });

  it('prepares at most `prefetch` batches ahead of the one in use', async () => {
    let reads = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    const slow: Dataset = {
      length: 40,
      classes: ['a', 'b'],
      imageShape: [1, 2, 2],
      async get(i: number): Promise<Sample> {
        reads++;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight--;
        return { image: { data: new Float32Array(4).fill(i), channels: 1, height: 2, width: 2 }, label: i % 2 };
      },
    };
    const loader = new DataLoader(slow, { batchSize: 4, prefetch: 2, backend });
    const it = loader.batches();
    const first = await it.next();
    await new Promise((r) => setTimeout(r, 100));
    // The batch handed out plus two prepared ahead; nothing more while the consumer waits.
    expect(reads).toBe(3 * 4);
    expect(maxInFlight).toBeLessThanOrEqual(2 * 4);
    first.value!.dispose();
    await it.return();
  });

  it('can stop early without leaving failures behind', async () => {
    const loader = new DataLoader(dataset(40), { batchSize: 4, prefetch: 3, backend });
    for await (const batch of loader.batches()) {
      batch.dispose();
      break;
    }
    const next = await collect(loader, 1);
    expect(next.sizes).toHaveLength(10);
  });

  it('rejects labels outside the classes and bad options, naming them', async () => {
    const bad: Dataset = {
      length: 2,
      classes: ['a', 'b'],
      get: (i) => ({ image: { data: new Float32Array(1), channels: 1, height: 1, width: 1 }, label: i * 5 }),
    };
    await expect(collect(new DataLoader(bad, { batchSize: 2, backend }))).rejects.toThrow(/sample 1 has label 5, outside \[0, 2\)/);
    expect(() => new DataLoader(dataset(4), { batchSize: 0, backend })).toThrow(/batchSize must be a positive integer/);
    expect(() => new DataLoader(dataset(4), { batchSize: 2, seed: -1, backend })).toThrow(/seed must be a non-negative safe integer/);
    expect(() => new DataLoader(dataset(4), { batchSize: 2, transform: [randomCrop(9)], backend })).toThrow(/does not fit/);
    expect(() => new DataLoader(bad, { batchSize: 1, workers: 2, backend })).toThrow(/workers > 0 needs a built-in dataset/);
    expect(() => new DataLoader({} as Dataset, { batchSize: 1 })).toThrow(TypeError);
  });

  it('gives identical batches from worker threads and from the main thread', async () => {
    ensureDist();
    const options = { batchSize: 7, shuffle: true, seed: 5, transform: augment, backend } as const;
    const main = await collect(new DataLoader(dataset(50), { ...options, workers: 0 }), 1);
    const pooled = new DataLoader(dataset(50), { ...options, workers: 2 });
    expect(pooled.workers).toBe(2);
    try {
      const threaded = await collect(pooled, 1);
      expect(threaded.input).toEqual(main.input);
      expect(threaded.labels).toEqual(main.labels);
      // A second epoch reuses the workers and their buffers.
      expect((await collect(pooled, 2)).sizes).toHaveLength(8);
    } finally {
      await pooled.close();
    }
  });
});
