/**
 * Fully connected layers on the backend under test (test/support/device.ts): forward (bias and
 * ReLU epilogues), backward-data, backward-weight and the bias gradient.
 *
 * - Against PyTorch: every case of test/reference/fixtures/ops/linear (with and without bias,
 *   batch 1, fused ReLU), on the device in strict fp32 and in TF32; and the Linear layer fused with
 *   a following ReLU in a Sequential, its parameters set from the fixture by name.
 * - Against the CPU build, in the GPU suite only, on fresh seeded inputs at AlexNet's shapes: fc6's
 *   9216 inputs, fc7's 4096 x 4096, the 1000-class output at batch 1 (inference) and the 10-class
 *   head at batch 128, and sizes no GEMM kernel is tiled for; fp32 and TF32.
 *
 * Tolerances: fp32 1e-4 relative; TF32 1e-2. With a fused ReLU the backward passes use the gradient
 * masked by the reference output, so that a TF32 output within rounding of 0 cannot flip the mask.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { Linear, ReLU, Sequential } from '../../lib/nn/index';
import { linear, linearBackwardData, linearBackwardWeight, reluBackward } from '../../lib/ops/index';
import { FP32_RTOL, loadFixture } from '../helpers';
import { describeDeviceOnly, describeOnDevice, device, mathModes } from '../support/device';
import { checkTensor } from '../support/report';
import { disposeAll, disposePairs, fixtureTensor, randomPair } from '../support/tensors';

interface FixtureCase {
  name: string;
  bias: boolean;
  relu: boolean;
}

interface RandomCase {
  name: string;
  batch: number;
  inFeatures: number;
  outFeatures: number;
  bias: boolean;
  relu: boolean;
}

const RANDOM_CASES: RandomCase[] = [
  { name: 'fc6-like: 9216 inputs, fused ReLU', batch: 4, inFeatures: 9216, outFeatures: 512, bias: true, relu: true },
  { name: 'fc7: 4096 x 4096, fused ReLU', batch: 2, inFeatures: 4096, outFeatures: 4096, bias: true, relu: true },
  { name: 'output layer at batch 1: 4096 -> 1000', batch: 1, inFeatures: 4096, outFeatures: 1000, bias: true, relu: false },
  { name: 'd2l head at batch 128: 4096 -> 10', batch: 128, inFeatures: 4096, outFeatures: 10, bias: true, relu: false },
  { name: 'odd sizes: 3 x 37 -> 11, fused ReLU', batch: 3, inFeatures: 37, outFeatures: 11, bias: true, relu: true },
  { name: 'no bias, fused ReLU: 5 x 300 -> 70', batch: 5, inFeatures: 300, outFeatures: 70, bias: false, relu: true },
];

const fixture = loadFixture('ops/linear');

describeOnDevice('linear', () => {
  afterEach(() => device().setMathMode('fp32'));

  describe('against PyTorch (fixtures)', () => {
    for (const c of fixture.cases as unknown as FixtureCase[]) {
      it(c.name, async () => {
        const dev = device();
        const get = (role: string) => fixture.get(`${c.name}.${role}`);
        const x = fixtureTensor(get('x'), dev);
        const w = fixtureTensor(get('w'), dev);
        const b = c.bias ? fixtureTensor(get('b'), dev) : null;
        const dy = fixtureTensor(get('dy'), dev);
        const yRef = fixtureTensor(get('y'), dev);
        const dLinear = c.relu ? reluBackward(yRef, dy) : dy.share();
        try {
          for (const [mode, tolerance] of mathModes()) {
            dev.setMathMode(mode);
            const group = `linear vs PyTorch (${mode})`;
            const y = linear(x, w, b, { relu: c.relu });
            const dx = linearBackwardData(dLinear, w);
            const { gradWeight, gradBias } = linearBackwardWeight(x, dLinear, { bias: c.bias });
            await checkTensor(group, `${c.name} y`, y, get('y'), tolerance);
            await checkTensor(group, `${c.name} dx`, dx, get('dx'), tolerance);
            await checkTensor(group, `${c.name} dw`, gradWeight, get('dw'), tolerance);
            if (c.bias) await checkTensor(group, `${c.name} db`, gradBias!, get('db'), tolerance);
            else expect(gradBias, `${c.name}: no bias gradient was asked for, got one`).toBeNull();
            disposeAll(y, dx, gradWeight, gradBias);
          }
        } finally {
          disposeAll(x, w, b, dy, yRef, dLinear);
        }
      });
    }

    it('the Linear layer (fused with a following ReLU in a Sequential) with parameters set by name', async () => {
      const dev = device();
      const c = 'fused_relu';
      const get = (role: string) => fixture.get(`${c}.${role}`);
      const [out, inFeatures] = get('w').shape as [number, number];
      const layer = new Linear({ inFeatures, outFeatures: out, backend: dev, seed: 3 });
      const net = new Sequential(layer, new ReLU());
      for (const [name, p] of net.namedParameters()) p.set(fixtureTensor(get(name === '0.weight' ? 'w' : 'b'), dev));
      const x = fixtureTensor(get('x'), dev);
      const dy = fixtureTensor(get('dy'), dev);
      const y = net.forward(x);
      const dx = net.backward(dy)!;
      await checkTensor('Linear layer vs PyTorch', 'layer y', y, get('y'), FP32_RTOL);
      await checkTensor('Linear layer vs PyTorch', 'layer dx', dx, get('dx'), FP32_RTOL);
      await checkTensor('Linear layer vs PyTorch', 'layer dw', layer.weight.grad!, get('dw'), FP32_RTOL);
      await checkTensor('Linear layer vs PyTorch', 'layer db', layer.bias!.grad!, get('db'), FP32_RTOL);
      disposeAll(x, dy, y, dx);
      net.dispose();
    });
  });

  describeDeviceOnly('against the CPU build (fresh random inputs, AlexNet shapes)', () => {
    RANDOM_CASES.forEach((c, index) => {
      it(c.name, async () => {
        const dev = device();
        const seed = 2000 * (index + 1);
        const x = await randomPair([c.batch, c.inFeatures], seed, dev);
        const w = await randomPair([c.outFeatures, c.inFeatures], seed + 1, dev, { std: 1 / Math.sqrt(c.inFeatures) });
        const b = c.bias ? await randomPair([c.outFeatures], seed + 2, dev, { std: 0.5 }) : null;
        const dy = await randomPair([c.batch, c.outFeatures], seed + 3, dev);
        const yCpu = linear(x.cpu, w.cpu, b?.cpu ?? null, { relu: c.relu });
        const dLinearCpu = c.relu ? reluBackward(yCpu, dy.cpu) : dy.cpu.share();
        const dxCpu = linearBackwardData(dLinearCpu, w.cpu);
        const cpuGrads = linearBackwardWeight(x.cpu, dLinearCpu, { bias: c.bias });
        const dLinear = await dLinearCpu.to(dev);
        try {
          for (const [mode, tolerance] of mathModes()) {
            dev.setMathMode(mode);
            const group = `linear vs CPU (${mode})`;
            const y = linear(x.dev, w.dev, b?.dev ?? null, { relu: c.relu });
            const dx = linearBackwardData(dLinear, w.dev);
            const { gradWeight, gradBias } = linearBackwardWeight(x.dev, dLinear, { bias: c.bias });
            await checkTensor(group, `${c.name}: y`, y, yCpu, tolerance);
            await checkTensor(group, `${c.name}: dx`, dx, dxCpu, tolerance);
            await checkTensor(group, `${c.name}: dw`, gradWeight, cpuGrads.gradWeight, tolerance);
            if (c.bias) await checkTensor(group, `${c.name}: db`, gradBias!, cpuGrads.gradBias!, tolerance);
            disposeAll(y, dx, gradWeight, gradBias);
          }
        } finally {
          disposePairs(x, w, dy, ...(b ? [b] : []));
          disposeAll(yCpu, dLinearCpu, dxCpu, cpuGrads.gradWeight, cpuGrads.gradBias, dLinear);
        }
      });
    });
  });
});
