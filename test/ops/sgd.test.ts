/**
 * The SGD optimizer against torch.optim.SGD over four steps with fixed gradients: momentum with
 * weight decay (the first step copies the gradient into the buffer), Nesterov, dampening, plain
 * SGD and weight decay alone. Parameters and momentum buffers are compared after every step.
 */
import { describe, expect, it } from 'vitest';

import { Parameter } from '../../lib/nn/index';
import { SGD } from '../../lib/optim/sgd';
import { cpuTensor, expectTensorClose, loadFixture } from '../helpers';

const fixture = loadFixture('ops/sgd');

interface SgdCase {
  name: string;
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  steps: number;
  params: number;
}

describe('SGD matches torch.optim.SGD', () => {
  for (const c of fixture.cases as unknown as SgdCase[]) {
    it(`${c.name} (lr ${c.lr}, momentum ${c.momentum}, dampening ${c.dampening}, weight decay ${c.weightDecay}, nesterov ${c.nesterov})`, async () => {
      const get = (role: string) => fixture.get(`${c.name}.${role}`);
      const params = Array.from({ length: c.params }, (_, i) => new Parameter(`p${i}`, cpuTensor(get(`p${i}.initial`))));
      const optimizer = new SGD(params, {
        lr: c.lr,
        momentum: c.momentum,
        dampening: c.dampening,
        weightDecay: c.weightDecay,
        nesterov: c.nesterov,
      });
      expect(optimizer.buffers.length).toBe(c.momentum > 0 ? c.params : 0);
      for (let step = 0; step < c.steps; step++) {
        params.forEach((p, i) => p.setGrad(cpuTensor(get(`p${i}.grad${step}`))));
        optimizer.step();
        for (const [i, p] of params.entries()) {
          await expectTensorClose(`step ${step} p${i}`, p.value.share(), get(`p${i}.after${step}`));
          if (c.momentum > 0) await expectTensorClose(`step ${step} buffer ${i}`, optimizer.buffers[i]!.share(), get(`p${i}.buffer${step}`));
        }
      }
      expect(optimizer.steps).toBe(c.steps);
      optimizer.dispose();
      for (const p of params) p.dispose();
    });
  }
});
