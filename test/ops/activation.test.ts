/**
 * ReLU (exact zeros, NaN and infinities) and softmax (wide rows, one class, logits large enough
 * to overflow exp without the max subtraction) against PyTorch; the ReLU layer on its own and as
 * the fused epilogue of a Conv2d in a Sequential.
 */
import { describe, it } from 'vitest';

import { Conv2d, ReLU, Sequential } from '../../lib/nn/index';
import { conv2d, linear, relu, reluBackward, softmax } from '../../lib/ops/index';
import { Tensor } from '../../lib/tensor';
import { compareArrays, cpuTensor, expectTensorClose, FP32_RTOL, loadFixture } from '../helpers';

const fixture = loadFixture('ops/activation');
const get = (name: string) => fixture.get(name);

describe('relu matches PyTorch', () => {
  it('forward and backward, with exact zeros (gradient 0 there, as in PyTorch)', async () => {
    const x = cpuTensor(get('relu_with_zeros.x'));
    const dy = cpuTensor(get('relu_with_zeros.dy'));
    const y = relu(x);
    await expectTensorClose('dx', reluBackward(y, dy), get('relu_with_zeros.dx'));
    await expectTensorClose('y', y, get('relu_with_zeros.y'), 0);
    x.dispose();
    dy.dispose();
  });

  it('lets NaN through and keeps infinities, as torch.relu does', async () => {
    const x = cpuTensor(get('relu_nan_inf.x'));
    await expectTensorClose('y', relu(x), get('relu_nan_inf.y'), 0);
    x.dispose();
  });

  it('fused after a convolution and a linear layer, still lets NaN through', async () => {
    const x = Tensor.fromArray([Number.NaN, -1, 2, 3], [1, 1, 2, 2], { backend: 'cpu' });
    const one = Tensor.fromArray([1], [1, 1, 1, 1], { backend: 'cpu' });
    const conv = Array.from(await conv2d(x, one, null, { relu: true }).toArray());
    const rows = Tensor.fromArray([Number.NaN, -1], [2, 1], { backend: 'cpu' });
    const dense = Array.from(await linear(rows, one.reshape([1, 1]), null, { relu: true }).toArray());
    compareArrays('conv2d + relu', conv, [Number.NaN, 0, 2, 3], 0);
    compareArrays('linear + relu', dense, [Number.NaN, 0], 0);
  });

  it('as a layer: forward then backward', async () => {
    const layer = new ReLU();
    const x = cpuTensor(get('relu_with_zeros.x'));
    const dy = cpuTensor(get('relu_with_zeros.dy'));
    await expectTensorClose('layer y', layer.forward(x), get('relu_with_zeros.y'), 0);
    await expectTensorClose('layer dx', layer.backward(dy)!, get('relu_with_zeros.dx'), 0);
    x.dispose();
    dy.dispose();
  });
});

describe('softmax matches PyTorch', () => {
  for (const name of ['softmax_small', 'softmax_wide', 'softmax_single_class', 'softmax_large_logits']) {
    it(name, async () => {
      const x = cpuTensor(get(`${name}.x`));
      await expectTensorClose(name, softmax(x), get(`${name}.y`));
      x.dispose();
    });
  }
});

describe('a ReLU fused into the Conv2d before it', () => {
  it('gives what the unfused layers give, forward and backward', async () => {
    const make = () => new Conv2d({ inChannels: 3, outChannels: 5, kernelSize: 3, padding: 1, backend: 'cpu', seed: 11 });
    const fused = new Sequential(make(), new ReLU());
    const conv = make();
    const act = new ReLU();
    const input = Tensor.normal([4, 3, 5, 6], { seed: 5 }, { backend: 'cpu' });
    const yFused = fused.forward(input);
    const pre = conv.forward(input);
    const y = act.forward(pre);
    const yRef = await y.toArray();
    compareArrays('fused y', await yFused.toArray(), yRef, FP32_RTOL);
    const dy = Tensor.normal([4, 5, 5, 6], { seed: 6 }, { backend: 'cpu' });
    const dxFused = fused.backward(dy)!;
    const dPre = act.backward(dy)!;
    const dx = conv.backward(dPre)!;
    compareArrays('fused dx', await dxFused.toArray(), await dx.toArray(), FP32_RTOL);
    const [fusedConv] = fused.layers as [Conv2d];
    compareArrays('fused dw', await fusedConv.weight.grad!.toArray(), await conv.weight.grad!.toArray(), FP32_RTOL);
    compareArrays('fused db', await fusedConv.bias!.grad!.toArray(), await conv.bias!.grad!.toArray(), FP32_RTOL);
    for (const t of [input, yFused, pre, y, dy, dxFused, dPre, dx]) t.dispose();
    fused.dispose();
    conv.dispose();
  });
});
