import { describe, expect, it } from 'vitest';

import { randomSubset } from '../../lib/data/dataset';
import { loadFashionMnist } from '../../lib/data/fashionMnist';
import { createAlexNet } from '../../lib/models/alexnet';
import { Trainer } from '../../lib/training/trainer';
import { requireFashionMnist } from '../data/fashionMnist';

describe('training on Fashion-MNIST (CPU)', () => {
  it('a reduced d2l AlexNet reaches at least 0.75 test accuracy on 1,000 held-out images', { timeout: 900_000 }, async (ctx) => {
    const dir = requireFashionMnist(ctx);
    const started = performance.now();
    const cpuStart = process.cpuUsage();
    // A quarter of d2l's widths at 68x68 (the smallest input whose last pooling still has an output),
    // He initialization and momentum to learn in three short epochs; seeded, so the result is reproducible.
    const train = randomSubset(await loadFashionMnist('train', { path: dir }), 15_000, 1);
    const test = randomSubset(await loadFashionMnist('test', { path: dir }), 1_000, 2);
    const model = createAlexNet({ preset: 'd2l', width: 0.25, inputSize: 68, init: 'kaiming', seed: 1, backend: 'cpu' });
    const resize = [{ kind: 'resize' as const, size: [68, 68] as [number, number] }];
    const result = await new Trainer(model).fit(train, test, {
      epochs: 3,
      batchSize: 64,
      optimizer: { lr: 0.02, momentum: 0.9 },
      trainTransform: resize,
      evalTransform: resize,
      seed: 1,
      progress: 'none',
      handleSignals: false,
    });
    const seconds = (performance.now() - started) / 1000;
    // CPU time as well: on a shared machine the wall time says more about the neighbours than about this run.
    const cpu = process.cpuUsage(cpuStart);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const final = result.history.at(-1)!;
    console.log(
      `reduced d2l AlexNet (${model.parameterCount()} parameters), 15,000 images x 3 epochs: test accuracy ${final.valTop1!.toFixed(4)} ` +
        `on ${test.length} held-out images, ${seconds.toFixed(1)} s wall time, ${cpuSeconds.toFixed(1)} s of CPU time ` +
        `(${result.history.map((r) => `${Math.round(r.imagesPerSecond)} img/s`).join(', ')})`,
    );
    expect(final.valTop1).toBeGreaterThanOrEqual(0.75);
    model.dispose();
  });
});
