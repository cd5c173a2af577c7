/**
 * Issue 2's "no allocation in a steady-state training step after the first": training steps of a
 * small model on the CPU build make no system allocation once the first few steps have run (step 2
 * allocates the new gradients while step 1's are still held; see test/gpu/memory.test.ts), and hold
 * no more memory than those steps did. Each step reads its loss back, as a script that prints it
 * would. (When JavaScript runs further ahead, tensor memory is still reused in queue order; only the
 * staging buffers of uploads into memory that queued work still reads grow with the lead, and they
 * are cached like any block once their copy has run.)
 */
import { describe, expect, it } from 'vitest';

import { createAlexNet } from '../../lib/models/alexnet';
import { CrossEntropyLoss } from '../../lib/nn/loss';
import { SGD } from '../../lib/optim/sgd';
import { getBackend } from '../../lib/backend/backend';
import { Tensor } from '../../lib/tensor';

const WARMUP_STEPS = 3;
const STEPS = 40;

describe('steady-state training on the CPU build', () => {
  it(`makes no system allocation after step ${WARMUP_STEPS} and holds no more memory than the warm-up`, async () => {
    const backend = getBackend('cpu');
    const model = createAlexNet({ preset: 'paper', width: 1 / 16, inputSize: 67, numClasses: 10, seed: 5, backend });
    const optimizer = new SGD(
      model.namedParameters().map(([, p]) => p),
      { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 },
    );
    const loss = new CrossEntropyLoss();
    const allocations: number[] = [];
    const inUse: number[] = [];
    for (let step = 1; step <= STEPS; step++) {
      // A fresh batch each step.
      const x = Tensor.normal([4, 3, 67, 67], { seed: step }, { backend });
      const labels = Tensor.fromArray([step % 10, 1, 2, 3], [4], { backend, dtype: 'int32' });
      const logits = model.forward(x);
      const { loss: value, gradLogits } = loss.compute(logits, labels);
      model.backward(gradLogits);
      optimizer.step();
      expect(Number.isFinite((await value.toArray())[0]), `loss at step ${step}`).toBe(true);
      for (const t of [x, labels, logits, value, gradLogits]) t.dispose();
      const stats = backend.memoryStats();
      allocations.push(stats.systemAllocations);
      inUse.push(stats.bytesInUse);
    }
    expect(allocations.slice(WARMUP_STEPS), `system allocations per step: ${allocations.join(', ')}`).toEqual(
      new Array(STEPS - WARMUP_STEPS).fill(allocations[WARMUP_STEPS - 1]),
    );
    expect(Math.max(...inUse.slice(WARMUP_STEPS))).toBeLessThanOrEqual(Math.max(...inUse.slice(0, WARMUP_STEPS)));
    optimizer.dispose();
    model.dispose();
  });
});
