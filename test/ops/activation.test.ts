/**
 * ReLU and softmax on the backend under test (test/support/device.ts).
 *
 * - Against PyTorch: test/reference/fixtures/ops/activation (ReLU with exact zeros, NaN and
 *   infinities passing through as in torch.relu; softmax over narrow, wide, single-class and
 *   overflowing rows).
 * - The ReLU fused into the convolution or linear layer before it: NaN still passes, and a
 *   Sequential of Conv2d and ReLU (fused) gives what the unfused layers give, forward and backward.
 * - Against the CPU build, in the GPU suite only, on fresh seeded inputs: ReLU over a conv1-sized
 *   activation, softmax over ImageNet-sized rows.
 *
 * Tolerances: ReLU exact (no rounding is involved); softmax and the fused-against-unfused layers
 * 1e-4 relative.
 */
import { describe, it } from 'vitest';

import { Conv2d, ReLU, Sequential } from '../../lib/nn/index';
import { conv2d, linear, relu, reluBackward, softmax } from '../../lib/ops/index';
import { Tensor } from '../../lib/tensor';
import { FP32_RTOL, loadFixture } from '../helpers';
import { describeDeviceOnly, describeOnDevice, device } from '../support/device';
import { checkClose, checkTensor } from '../support/report';
import { disposeAll, disposePairs, fixtureTensor, pairFrom, randomPair } from '../support/tensors';

const fixture = loadFixture('ops/activation');
const get = (name: string) => fixture.get(name);
const SOFTMAX_FIXTURES = ['softmax_small', 'softmax_wide', 'softmax_single_class', 'softmax_large_logits'];

describeOnDevice('activations', () => {
  describe('against PyTorch (fixtures)', () => {
    it('ReLU forward and backward, with exact zeros (gradient 0 there, as in PyTorch)', async () => {
      const dev = device();
      const x = fixtureTensor(get('relu_with_zeros.x'), dev);
      const dy = fixtureTensor(get('relu_with_zeros.dy'), dev);
      const y = relu(x);
      const dx = reluBackward(y, dy);
      await checkTensor('ReLU vs PyTorch', 'relu_with_zeros y', y, get('relu_with_zeros.y'), 0);
      await checkTensor('ReLU vs PyTorch', 'relu_with_zeros dx', dx, get('relu_with_zeros.dx'), 0);
      disposeAll(x, dy, y, dx);
    });

    it('ReLU lets NaN through and keeps infinities, as torch.relu does', async () => {
      const x = fixtureTensor(get('relu_nan_inf.x'), device());
      const y = relu(x);
      await checkTensor('ReLU vs PyTorch', 'relu_nan_inf y', y, get('relu_nan_inf.y'), 0);
      disposeAll(x, y);
    });

    it('the ReLU layer: forward then backward', async () => {
      const dev = device();
      const layer = new ReLU();
      const x = fixtureTensor(get('relu_with_zeros.x'), dev);
      const dy = fixtureTensor(get('relu_with_zeros.dy'), dev);
      const y = layer.forward(x);
      const dx = layer.backward(dy)!;
      await checkTensor('ReLU vs PyTorch', 'ReLU layer y', y, get('relu_with_zeros.y'), 0);
      await checkTensor('ReLU vs PyTorch', 'ReLU layer dx', dx, get('relu_with_zeros.dx'), 0);
      disposeAll(x, dy, y, dx);
    });

    for (const name of SOFTMAX_FIXTURES) {
      it(name, async () => {
        const x = fixtureTensor(get(`${name}.x`), device());
        const y = softmax(x);
        await checkTensor('softmax vs PyTorch', `${name} y`, y, get(`${name}.y`), FP32_RTOL);
        disposeAll(x, y);
      });
    }
  });

  describe('ReLU fused into the layer before it', () => {
    it('after a convolution and a linear layer, still lets NaN through', async () => {
      const dev = device();
      const x = Tensor.fromArray([Number.NaN, -1, 2, 3], [1, 1, 2, 2], { backend: dev });
      const one = Tensor.fromArray([1], [1, 1, 1, 1], { backend: dev });
      const oneByOne = one.reshape([1, 1]);
      const rows = Tensor.fromArray([Number.NaN, -1], [2, 1], { backend: dev });
      const convOut = conv2d(x, one, null, { relu: true });
      const denseOut = linear(rows, oneByOne, null, { relu: true });
      checkClose('fused ReLU', 'conv2d + relu', await convOut.toArray(), [Number.NaN, 0, 2, 3], 0);
      checkClose('fused ReLU', 'linear + relu', await denseOut.toArray(), [Number.NaN, 0], 0);
      disposeAll(x, one, oneByOne, rows, convOut, denseOut);
    });

    it('a Sequential of Conv2d and ReLU gives what the unfused layers give, forward and backward', async () => {
      const dev = device();
      const make = () => new Conv2d({ inChannels: 3, outChannels: 5, kernelSize: 3, padding: 1, backend: dev, seed: 11 });
      const fused = new Sequential(make(), new ReLU());
      const conv = make();
      const act = new ReLU();
      const input = Tensor.normal([4, 3, 5, 6], { seed: 5 }, { backend: dev });
      const yFused = fused.forward(input);
      const pre = conv.forward(input);
      const y = act.forward(pre);
      await checkTensor('fused ReLU', 'fused y', yFused, y, FP32_RTOL);
      const dy = Tensor.normal([4, 5, 5, 6], { seed: 6 }, { backend: dev });
      const dxFused = fused.backward(dy)!;
      const dPre = act.backward(dy)!;
      const dx = conv.backward(dPre)!;
      await checkTensor('fused ReLU', 'fused dx', dxFused, dx, FP32_RTOL);
      const [fusedConv] = fused.layers as [Conv2d];
      await checkTensor('fused ReLU', 'fused dw', fusedConv.weight.grad!, conv.weight.grad!, FP32_RTOL);
      await checkTensor('fused ReLU', 'fused db', fusedConv.bias!.grad!, conv.bias!.grad!, FP32_RTOL);
      disposeAll(input, yFused, pre, y, dy, dxFused, dPre, dx);
      fused.dispose();
      conv.dispose();
    });
  });

  describeDeviceOnly('against the CPU build (fresh random inputs)', () => {
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
