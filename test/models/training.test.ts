/**
 * Ten SGD steps (lr 0.01, momentum 0.9, weight decay 5e-4) of reduced presets on a fixed batch,
 * dropout active with its masks advancing every step, against the same steps in PyTorch: the loss
 * of every step and the output layer's final parameters.
 */
import { describe, expect, it } from 'vitest';

import { CrossEntropyLoss } from '../../lib/nn/index';
import { SGD } from '../../lib/optim/sgd';
import { compareArrays, cpuTensor, expectTensorClose, FP32_RTOL, loadFixture } from '../helpers';
import { loadReducedPreset, type ReducedPresetConfig } from './reducedPreset';

const fixture = loadFixture('models/training');

interface TrajectoryCase extends ReducedPresetConfig {
  steps: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  finalParameters: string[];
}

describe('ten SGD steps follow PyTorch', () => {
  for (const c of fixture.cases as unknown as TrajectoryCase[]) {
    it(`${c.preset}: loss trajectory and final output layer`, async () => {
      // Start from the reduced preset's parameters, input and labels.
      const start = loadFixture(`models/${c.preset}`);
      const { model } = loadReducedPreset(fixture, c.name, start);
      const x = cpuTensor(start.get('reduced.x'));
      const labels = cpuTensor(start.get('reduced.labels'));
      const params = model.namedParameters().map(([, p]) => p);
      const optimizer = new SGD(params, { lr: c.lr, momentum: c.momentum, weightDecay: c.weightDecay });
      const criterion = new CrossEntropyLoss();
      const losses: number[] = [];
      for (let step = 0; step < c.steps; step++) {
        const logits = model.forward(x);
        const { loss, gradLogits } = criterion.compute(logits, labels);
        model.backward(gradLogits);
        optimizer.step();
        losses.push((await loss.toArray())[0]);
        for (const t of [logits, loss, gradLogits]) t.dispose();
      }
      const expected = fixture.get(`${c.name}.losses`).data as Float32Array;
      compareArrays(`${c.preset} losses`, losses, expected, FP32_RTOL);
      // the loss must move, or the comparison above says little about the updates
      expect(losses[0] - losses.at(-1)!).toBeGreaterThan(0.01 * losses[0]);
      const byName = new Map(model.namedParameters());
      for (const name of c.finalParameters) {
        await expectTensorClose(`${c.preset} final ${name}`, byName.get(name)!.value.share(), fixture.get(`${c.name}.final.${name}`));
      }
      optimizer.dispose();
      model.dispose();
      x.dispose();
      labels.dispose();
    });
  }
});
