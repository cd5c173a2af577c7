/**
 * Cross-channel local response normalization on the backend under test (test/support/device.ts),
 * forward and backward. Our alpha convention is PyTorch's.
 *
 * - Against PyTorch's F.local_response_norm: every case of test/reference/fixtures/ops/lrn (sizes
 *   1 to 7, channel counts below, at and above the window, the paper's constants and others: beta
 *   other than 0.75, k other than 2). Their inputs are scaled so that the sum of squares matters
 *   next to k: with the wrong alpha convention (alpha against alpha / size) the results move far
 *   beyond the tolerance. Also the layer built from the paper's constants.
 * - Against the CPU build, in the GPU suite only, on fresh seeded inputs at AlexNet's shapes (after
 *   conv1 and conv2, with the paper's constants at the magnitudes post-ReLU activations reach), and
 *   a large alpha.
 *
 * Tolerance: fp32 1e-4 relative (LRN has no TF32 path).
 */
import { describe, expect, it } from 'vitest';

import { LocalResponseNorm } from '../../lib/nn/index';
import { localResponseNorm, localResponseNormBackward, type LrnParams } from '../../lib/ops/index';
import { FP32_RTOL, loadFixture } from '../helpers';
import { describeDeviceOnly, describeOnDevice, device } from '../support/device';
import { checkTensor } from '../support/report';
import { disposeAll, disposePairs, fixtureTensor, randomPair } from '../support/tensors';

type FixtureCase = { name: string } & LrnParams;

interface RandomCase {
  name: string;
  input: [number, number, number, number];
  /** Standard deviation of the input. */
  scale: number;
  params: LrnParams;
}

/** The paper's constants in PyTorch's convention (alpha 1e-4 times the size). */
const PAPER: LrnParams = { size: 5, alpha: 5e-4, beta: 0.75, k: 2 };

const RANDOM_CASES: RandomCase[] = [
  { name: 'after conv1 (paper): 96 x 55 x 55, paper constants', input: [2, 96, 55, 55], scale: 30, params: PAPER },
  { name: 'after conv2 (paper): 256 x 27 x 27, paper constants', input: [2, 256, 27, 27], scale: 40, params: PAPER },
  { name: 'size 3, alpha 1, beta 0.75, k 1', input: [2, 16, 13, 13], scale: 1.5, params: { size: 3, alpha: 1, beta: 0.75, k: 1 } },
  { name: 'size 7 over 4 channels, beta 1', input: [3, 4, 9, 7], scale: 1.5, params: { size: 7, alpha: 0.9, beta: 1, k: 1.2 } },
];

const fixture = loadFixture('ops/lrn');

describeOnDevice('local response normalization', () => {
  describe('against PyTorch (fixtures)', () => {
    for (const c of fixture.cases as unknown as FixtureCase[]) {
      it(c.name, async () => {
        const dev = device();
        const get = (role: string) => fixture.get(`${c.name}.${role}`);
        const params = { size: c.size, alpha: c.alpha, beta: c.beta, k: c.k };
        const x = fixtureTensor(get('x'), dev);
        const dy = fixtureTensor(get('dy'), dev);
        const y = localResponseNorm(x, params);
        const dx = localResponseNormBackward(x, y, dy, params);
        await checkTensor('LRN vs PyTorch', `${c.name} y`, y, get('y'), FP32_RTOL);
        await checkTensor('LRN vs PyTorch', `${c.name} dx`, dx, get('dx'), FP32_RTOL);
        disposeAll(x, dy, y, dx);
      });
    }

    it('the LocalResponseNorm layer converts the paper constants (alpha multiplies the sum) into PyTorch alpha = 1e-4 * 5', async () => {
      const dev = device();
      const layer = LocalResponseNorm.fromPaper({ size: 5, alpha: 1e-4, beta: 0.75, k: 2 });
      expect(layer.params).toEqual({ size: 5, alpha: 1e-4 * 5, beta: 0.75, k: 2 });
      const c = 'paper_constants';
      const x = fixtureTensor(fixture.get(`${c}.x`), dev);
      const dy = fixtureTensor(fixture.get(`${c}.dy`), dev);
      const y = layer.forward(x);
      const dx = layer.backward(dy)!;
      await checkTensor('LRN layer vs PyTorch', 'layer y', y, fixture.get(`${c}.y`), FP32_RTOL);
      await checkTensor('LRN layer vs PyTorch', 'layer dx', dx, fixture.get(`${c}.dx`), FP32_RTOL);
      disposeAll(x, dy, y, dx);
    });
  });

  describeDeviceOnly('against the CPU build (fresh random inputs)', () => {
    RANDOM_CASES.forEach((c, index) => {
      it(c.name, async () => {
        const dev = device();
        const seed = 3000 * (index + 1);
        const x = await randomPair(c.input, seed, dev, { std: c.scale });
        const dy = await randomPair(c.input, seed + 1, dev);
        const yCpu = localResponseNorm(x.cpu, c.params);
        const dxCpu = localResponseNormBackward(x.cpu, yCpu, dy.cpu, c.params);
        const y = localResponseNorm(x.dev, c.params);
        const dx = localResponseNormBackward(x.dev, y, dy.dev, c.params);
        await checkTensor('LRN vs CPU', `${c.name}: y`, y, yCpu, FP32_RTOL);
        await checkTensor('LRN vs CPU', `${c.name}: dx`, dx, dxCpu, FP32_RTOL);
        disposePairs(x, dy);
        disposeAll(yCpu, dxCpu, y, dx);
      });
    });
  });
});
