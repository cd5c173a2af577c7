/**
 * No device memory growth in the steady state: 1,000 training steps of a small model, each with
 * a fresh input batch uploaded, must end with as many system allocations (cudaMalloc calls) as
 * after the first steps, and never hold more bytes in live tensors than during those first steps.
 *
 * Why "the first steps" and not "the first step": step 1 allocates every gradient for the first
 * time; step 2 allocates the new gradients while step 1's are still held (a parameter's gradient
 * is replaced, then the old one freed), and from step 3 on each step reuses the blocks the step
 * before it freed. So the count may grow until step WARMUP_STEPS and never after.
 *
 * The stats are read after synchronizing each step, so that they do not depend on how far the
 * device's queue has got (the CPU build holds a queued op's tensors until the op has run).
 */
import { it } from 'vitest';

import { createAlexNet } from '../../lib/models/alexnet';
import { SGD } from '../../lib/optim/sgd';
import { describeOnDevice, device } from '../support/device';
import { checkThat } from '../support/report';
import { syntheticBatches, trainStep } from './support/training';

const STEPS = 1000;
const WARMUP_STEPS = 3;

describeOnDevice('device memory over many training steps', () => {
  it(`${STEPS} training steps (d2l at width 0.25, 96 x 96, batch 8): no allocation after step ${WARMUP_STEPS}, bytes in use never above the warm-up's peak`, async () => {
    const dev = device();
    const model = createAlexNet({ preset: 'd2l', width: 0.25, inputSize: 96, seed: 3, backend: dev });
    const optimizer = new SGD(
      model.namedParameters().map(([, p]) => p),
      { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 },
    );
    const batches = await syntheticBatches({ batches: 4, batchSize: 8, channels: 1, size: 96, classes: 10, seed: 99 });
    const allocations: number[] = [];
    const inUse: number[] = [];
    let lastLoss = NaN;
    for (let step = 1; step <= STEPS; step++) {
      const loss = trainStep(model, optimizer, batches[step % batches.length], dev);
      if (step % 100 === 0 || step === STEPS) lastLoss = ((await loss.toArray()) as Float32Array)[0]!;
      loss.dispose();
      await dev.synchronize();
      const stats = dev.memoryStats();
      allocations.push(stats.systemAllocations);
      inUse.push(stats.bytesInUse);
    }
    const group = `memory over ${STEPS} steps`;
    const settled = allocations[WARMUP_STEPS - 1];
    const lastGrowth = allocations.reduce((last, n, i) => (i > 0 && n !== allocations[i - 1] ? i + 1 : last), 1);
    checkThat(
      group,
      `system allocations stop growing by step ${WARMUP_STEPS}`,
      allocations.at(-1) === settled,
      `allocations after steps 1..${WARMUP_STEPS}: ${allocations.slice(0, WARMUP_STEPS).join(', ')}; after step ${STEPS}: ` +
        `${allocations.at(-1)}; last growth at step ${lastGrowth}`,
      { tolerance: 'no growth' },
    );
    // Bytes held never exceed what the warm-up steps held. On an H200, when the allocator still
    // handed out cached blocks up to 1.25 times the request, they moved between 63.22 and 63.27 MB
    // over 1,000 steps (the most after step 2) with no system allocation after step 3; blocks are
    // now reused by exact size, which makes them equal from step to step on the CPU build.
    const warmupPeak = Math.max(...inUse.slice(0, WARMUP_STEPS));
    const later = inUse.slice(WARMUP_STEPS);
    const over = later.findIndex((b) => b > warmupPeak);
    checkThat(
      group,
      `bytes in use after steps ${WARMUP_STEPS + 1}..${STEPS} stay within the warm-up's peak`,
      over < 0,
      over < 0
        ? `warm-up peak ${warmupPeak} bytes; later steps held ${Math.min(...later)} to ${Math.max(...later)} bytes`
        : `warm-up peak ${warmupPeak} bytes; after step ${over + WARMUP_STEPS + 1}: ${later[over]} bytes`,
      { tolerance: 'no growth' },
    );
    checkThat(group, 'training still produces a finite loss', Number.isFinite(lastLoss), `loss at step ${STEPS}: ${lastLoss}`);

    optimizer.dispose();
    model.dispose();
    dev.emptyCache();
    const after = dev.memoryStats();
    checkThat(group, 'emptyCache returns every cached block', after.bytesCached === 0, `${after.bytesCached} bytes still cached`);
  });
});
