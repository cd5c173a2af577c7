/**
 * The SGD update on the backend under test (test/support/device.ts; one multi-tensor kernel over
 * every parameter): momentum with weight decay (the first step copies the gradient into the
 * buffer), Nesterov, dampening, plain SGD and weight decay alone.
 *
 * - Against torch.optim.SGD: test/reference/fixtures/ops/sgd, four steps with fixed gradients,
 *   parameters and momentum buffers compared after every step.
 * - Against the CPU build, in the GPU suite only, on fresh seeded values at AlexNet's parameter
 *   shapes (conv1's weight, a classifier weight, biases, and an odd size that no vector width
 *   divides), three steps.
 *
 * Tolerance: 1e-4 relative (elementwise arithmetic; fused multiply-adds may round differently).
 */
import { describe, expect, it } from 'vitest';

import type { Backend } from '../../lib/backend/backend';
import { Parameter } from '../../lib/nn/index';
import { SGD, type SgdOptions } from '../../lib/optim/sgd';
import { Tensor } from '../../lib/tensor';
import { FP32_RTOL, loadFixture } from '../helpers';
import { cpu, describeDeviceOnly, describeOnDevice, device } from '../support/device';
import { checkTensor } from '../support/report';
import { fixtureTensor } from '../support/tensors';

interface FixtureCase {
  name: string;
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  steps: number;
  params: number;
}

const RANDOM_SHAPES = [[96, 3, 11, 11], [96], [1000, 4096], [1000], [1001]];
const RANDOM_STEPS = 3;

const RANDOM_OPTIONS: [string, SgdOptions][] = [
  ['momentum 0.9, weight decay 5e-4 (the paper)', { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 }],
  ['Nesterov', { lr: 0.05, momentum: 0.9, weightDecay: 5e-4, nesterov: true }],
  ['dampening 0.1', { lr: 0.02, momentum: 0.9, dampening: 0.1 }],
  ['plain (d2l)', { lr: 0.01 }],
];

const fixture = loadFixture('ops/sgd');

/** Seeded normal values on the host. */
async function normalValues(shape: number[], seed: number): Promise<Float32Array> {
  const t = Tensor.normal(shape, { seed }, { backend: cpu() });
  const values = await t.toArray();
  t.dispose();
  return values;
}

function parametersOn(values: Float32Array[], backend: Backend): Parameter[] {
  return values.map((v, i) => new Parameter(`p${i}`, Tensor.fromArray(v, RANDOM_SHAPES[i], { backend })));
}

describeOnDevice('SGD', () => {
  describe('against torch.optim.SGD (fixtures)', () => {
    for (const c of fixture.cases as unknown as FixtureCase[]) {
      it(`${c.name} (lr ${c.lr}, momentum ${c.momentum}, dampening ${c.dampening}, weight decay ${c.weightDecay}, nesterov ${c.nesterov})`, async () => {
        const dev = device();
        const get = (role: string) => fixture.get(`${c.name}.${role}`);
        const params = Array.from({ length: c.params }, (_, i) => new Parameter(`p${i}`, fixtureTensor(get(`p${i}.initial`), dev)));
        const optimizer = new SGD(params, {
          lr: c.lr,
          momentum: c.momentum,
          dampening: c.dampening,
          weightDecay: c.weightDecay,
          nesterov: c.nesterov,
        });
        expect(optimizer.buffers.length).toBe(c.momentum > 0 ? c.params : 0);
        for (let step = 0; step < c.steps; step++) {
          params.forEach((p, i) => p.setGrad(fixtureTensor(get(`p${i}.grad${step}`), dev)));
          optimizer.step();
          for (const [i, p] of params.entries()) {
            await checkTensor('SGD vs PyTorch', `${c.name} step ${step} p${i}`, p.value, get(`p${i}.after${step}`), FP32_RTOL);
            if (c.momentum > 0) {
              await checkTensor(
                'SGD vs PyTorch',
                `${c.name} step ${step} buffer ${i}`,
                optimizer.buffers[i],
                get(`p${i}.buffer${step}`),
                FP32_RTOL,
              );
            }
          }
        }
        expect(optimizer.steps).toBe(c.steps);
        optimizer.dispose();
        for (const p of params) p.dispose();
      });
    }
  });

  describeDeviceOnly('against the CPU build (fresh random values, AlexNet parameter shapes)', () => {
    RANDOM_OPTIONS.forEach(([name, options], index) => {
      it(name, async () => {
        const dev = device();
        const seed = 9000 + 100 * index;
        const initial = await Promise.all(RANDOM_SHAPES.map((s, i) => normalValues(s, seed + i)));
        const onCpu = parametersOn(initial, cpu());
        const onDev = parametersOn(initial, dev);
        const cpuOptimizer = new SGD(onCpu, options);
        const devOptimizer = new SGD(onDev, options);
        for (let step = 0; step < RANDOM_STEPS; step++) {
          for (const [i, shape] of RANDOM_SHAPES.entries()) {
            const grad = await normalValues(shape, seed + 10 * (step + 1) + i);
            onCpu[i].setGrad(Tensor.fromArray(grad, shape, { backend: cpu() }));
            onDev[i].setGrad(Tensor.fromArray(grad, shape, { backend: dev }));
          }
          cpuOptimizer.step();
          devOptimizer.step();
        }
        for (const [i, shape] of RANDOM_SHAPES.entries()) {
          const what = `${name}: [${shape.join(', ')}] after ${RANDOM_STEPS} steps`;
          await checkTensor('SGD vs CPU', `${what}, parameter`, onDev[i].value, onCpu[i].value, FP32_RTOL);
          if (devOptimizer.buffers.length > 0) {
            await checkTensor('SGD vs CPU', `${what}, momentum buffer`, devOptimizer.buffers[i], cpuOptimizer.buffers[i], FP32_RTOL);
          }
        }
        expect(devOptimizer.buffers.length).toBe(cpuOptimizer.buffers.length);
        for (const o of [cpuOptimizer, devOptimizer]) o.dispose();
        for (const p of [...onCpu, ...onDev]) p.dispose();
      });
    });
  });
});
