/**
 * ReLU and softmax on the device.
 *
 * - Against PyTorch: test/reference/fixtures/ops/activation (ReLU with exact zeros, NaN and
 *   infinities passing through as in torch.relu; softmax over narrow, wide, single-class and
 *   overflowing rows).
 * - Against the CPU build on fresh seeded inputs: ReLU over a conv1-sized activation (forward and
 *   backward exact: no rounding is involved), softmax over ImageNet-sized rows.
 *
 * Tolerances: ReLU exact; softmax 1e-4 relative.
 */
import { describe, it } from 'vitest';

import { relu, reluBackward, softmax } from '../../lib/ops/index';
import { FP32_RTOL, loadFixture } from '../helpers';
import { describeOnDevice, device } from './support/device';
import { checkTensor } from './support/report';
import { disposeAll, disposePairs, fixtureTensor, pairFrom, randomPair } from './support/tensors';

const fixture = loadFixture('ops/activation');
const SOFTMAX_FIXTURES = ['softmax_small', 'softmax_wide', 'softmax_single_class', 'softmax_large_logits'];

describeOnDevice('activations on the device', () => {
  describe('against PyTorch (fixtures)', () => {
    it('ReLU forward and backward, with exact zeros', async () => {
      const dev = device();
      const x = fixtureTensor(fixture.get('relu_with_zeros.x'), dev);
      const dy = fixtureTensor(fixture.get('relu_with_zeros.dy'), dev);
      const y = relu(x);
      const dx = reluBackward(y, dy);
      await checkTensor('ReLU vs PyTorch', 'relu_with_zeros y', y, fixture.get('relu_with_zeros.y'), 0);
      await checkTensor('ReLU vs PyTorch', 'relu_with_zeros dx', dx, fixture.get('relu_with_zeros.dx'), 0);
      disposeAll(x, dy, y, dx);
    });

    it('ReLU lets NaN through and keeps infinities', async () => {
      const x = fixtureTensor(fixture.get('relu_nan_inf.x'), device());
      const y = relu(x);
      await checkTensor('ReLU vs PyTorch', 'relu_nan_inf y', y, fixture.get('relu_nan_inf.y'), 0);
      disposeAll(x, y);
    });

    for (const name of SOFTMAX_FIXTURES) {
      it(name, async () => {
        const x = fixtureTensor(fixture.get(`${name}.x`), device());
        const y = softmax(x);
        await checkTensor('softmax vs PyTorch', `${name} y`, y, fixture.get(`${name}.y`), FP32_RTOL);
        disposeAll(x, y);
      });
    }
  });

  describe('against the CPU build (fresh random inputs)', () => {
    it('ReLU over 2 x 96 x 55 x 55, forward and backward, with exact zeros', async () => {
      const dev = device();
      const shape = [2, 96, 55, 55];
      const drawn = await randomPair(shape, 6001, dev);
      disposePairs(drawn);
      const values = drawn.values.map((v, i) => (i % 11 === 0 ? 0 : v));
      const x = pairFrom(values, shape, dev);
      const dy = await randomPair(shape, 6002, dev);
      const yCpu = relu(x.cpu);
      const dxCpu = reluBackward(yCpu, dy.cpu);
      const y = relu(x.dev);
      const dx = reluBackward(y, dy.dev);
      await checkTensor('ReLU vs CPU', 'relu 2x96x55x55: y', y, yCpu, 0);
      await checkTensor('ReLU vs CPU', 'relu 2x96x55x55: dx', dx, dxCpu, 0);
      disposePairs(x, dy);
      disposeAll(yCpu, dxCpu, y, dx);
    });

    for (const [rows, classes, std] of [
      [128, 1000, 3],
      [1, 1000, 1],
      [256, 10, 5],
      [7, 13, 300],
    ] as const) {
      it(`softmax over ${rows} x ${classes} (logits with standard deviation ${std})`, async () => {
        const dev = device();
        const x = await randomPair([rows, classes], 6100 + rows + classes, dev, { std });
        const yCpu = softmax(x.cpu);
        const y = softmax(x.dev);
        await checkTensor('softmax vs CPU', `softmax ${rows}x${classes}, std ${std}`, y, yCpu, FP32_RTOL);
        disposePairs(x);
        disposeAll(yCpu, y);
      });
    }
  });
});
