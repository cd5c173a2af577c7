/**
 * Training on real data, on the CPU: a reduced d2l AlexNet on 15,000 Fashion-MNIST images for three
 * epochs in fp32 reaches at least 0.75 test accuracy on 1,000 held-out images.
 *
 * The bf16 math mode (issue 12) trains the same network to within 1 point of fp32's accuracy. Running
 * the run above a second time in bf16 would double this file's time (the emulated bf16 steps are also
 * slower than fp32 ones on the CPU), so the comparison is a shorter pair: 6,000 images for two epochs
 * in fp32 and in bf16, seeded alike (weights, order, dropout, so they differ only by the roundings),
 * judged on 2,000 held-out images. Measured on the CI machine's processor: 0.7595 in fp32, 0.7730 in
 * bf16 (the same in two runs); 60 to 66 s of CPU time in fp32, 66 to 84 s in bf16.
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

interface RunSize {
  trainImages: number;
  epochs: number;
  testImages: number;
}

const FULL: RunSize = { trainImages: 15_000, epochs: 3, testImages: 1_000 };
const PAIR: RunSize = { trainImages: 6_000, epochs: 2, testImages: 2_000 };

async function trainReduced(dir: string, mode: MathMode, size: RunSize): Promise<number> {
  const backend = getBackend('cpu');
  const previous = backend.mathMode;
  backend.setMathMode(mode);
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  // A quarter of d2l's widths at 68x68 (the smallest input whose last pooling still has an output),
  // He initialization and momentum to learn in three short epochs; seeded, so the result is reproducible.
  const train = randomSubset(await loadFashionMnist('train', { path: dir }), size.trainImages, 1);
  const test = randomSubset(await loadFashionMnist('test', { path: dir }), size.testImages, 2);
  const model = createAlexNet({ preset: 'd2l', width: 0.25, inputSize: 68, init: 'kaiming', seed: 1, backend });
  try {
    const resize = [{ kind: 'resize' as const, size: [68, 68] as [number, number] }];
    const result = await new Trainer(model).fit(train, test, {
      epochs: size.epochs,
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
      `reduced d2l AlexNet (${model.parameterCount()} parameters) in ${mode}, ${size.trainImages} images x ${size.epochs} epochs: test accuracy ${final.valTop1!.toFixed(4)} ` +
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
  it('a reduced d2l AlexNet reaches at least 0.75 test accuracy on 1,000 held-out images', { timeout: 900_000 }, async (ctx) => {
    const dir = requireFashionMnist(ctx);
    expect(await trainReduced(dir, 'fp32', FULL)).toBeGreaterThanOrEqual(0.75);
  });

  it(
    `in bf16 it reaches within ${BF16_ACCURACY_MARGIN * 100} point of fp32's accuracy (6,000 images, 2 epochs)`,
    { timeout: 1_200_000 },
    async (ctx) => {
      const dir = requireFashionMnist(ctx);
      const fp32 = await trainReduced(dir, 'fp32', PAIR);
      const bf16 = await trainReduced(dir, 'bf16', PAIR);
      console.log(`bf16 ${bf16.toFixed(4)} against fp32 ${fp32.toFixed(4)} on ${PAIR.testImages} held-out images`);
      expect(fp32).toBeGreaterThanOrEqual(0.7); // the pair learned something to compare
      expect(bf16).toBeGreaterThanOrEqual(fp32 - BF16_ACCURACY_MARGIN);
    },
  );
});
