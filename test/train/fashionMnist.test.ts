/**
 * Training on real data, on the CPU: a reduced d2l AlexNet on 15,000 Fashion-MNIST images for three
 * epochs, in fp32 (at least 0.75 test accuracy on 1,000 held-out images), then the same run in the
 * bf16 math mode, which must reach within 1 point of the fp32 run's accuracy (issue 12). Both runs
 * are seeded alike (weights, order, dropout), so they differ only by the bf16 roundings.
 */
import { describe, expect, it } from 'vitest';

import { getBackend, type MathMode } from '../../lib/backend/backend';
import { randomSubset } from '../../lib/data/dataset';
import { loadFashionMnist } from '../../lib/data/fashionMnist';
import { createAlexNet } from '../../lib/models/alexnet';
import { Trainer } from '../../lib/training/trainer';
import { requireFashionMnist } from '../data/fashionMnist';

/** The bf16 run may trail the fp32 run by at most this much test accuracy. */
const BF16_ACCURACY_MARGIN = 0.01;

async function trainReduced(dir: string, mode: MathMode): Promise<number> {
  const backend = getBackend('cpu');
  const previous = backend.mathMode;
  backend.setMathMode(mode);
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  // A quarter of d2l's widths at 68x68 (the smallest input whose last pooling still has an output),
  // He initialization and momentum to learn in three short epochs; seeded, so the result is reproducible.
  const train = randomSubset(await loadFashionMnist('train', { path: dir }), 15_000, 1);
  const test = randomSubset(await loadFashionMnist('test', { path: dir }), 1_000, 2);
  const model = createAlexNet({ preset: 'd2l', width: 0.25, inputSize: 68, init: 'kaiming', seed: 1, backend });
  try {
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
      `reduced d2l AlexNet (${model.parameterCount()} parameters) in ${mode}, 15,000 images x 3 epochs: test accuracy ${final.valTop1!.toFixed(4)} ` +
        `on ${test.length} held-out images, ${seconds.toFixed(1)} s wall time, ${cpuSeconds.toFixed(1)} s of CPU time ` +
        `(${result.history.map((r) => `${Math.round(r.imagesPerSecond)} img/s`).join(', ')})`,
    );
    return final.valTop1!;
  } finally {
    model.dispose();
    backend.setMathMode(previous);
  }
}

describe('training on Fashion-MNIST (CPU)', () => {
  let fp32Accuracy: number | undefined;

  it('a reduced d2l AlexNet reaches at least 0.75 test accuracy on 1,000 held-out images', { timeout: 900_000 }, async (ctx) => {
    const dir = requireFashionMnist(ctx);
    fp32Accuracy = await trainReduced(dir, 'fp32');
    expect(fp32Accuracy).toBeGreaterThanOrEqual(0.75);
  });

  it(`the same run in bf16 reaches within ${BF16_ACCURACY_MARGIN * 100} point of the fp32 accuracy`, { timeout: 900_000 }, async (ctx) => {
    const dir = requireFashionMnist(ctx);
    if (fp32Accuracy === undefined) throw new Error('the fp32 run (the test before) did not finish, so there is nothing to compare with');
    const bf16Accuracy = await trainReduced(dir, 'bf16');
    console.log(`bf16 ${bf16Accuracy.toFixed(4)} against fp32 ${fp32Accuracy.toFixed(4)}`);
    expect(bf16Accuracy).toBeGreaterThanOrEqual(fp32Accuracy - BF16_ACCURACY_MARGIN);
  });
});
