/**
 * conv2d on the backend under test (test/support/device.ts): forward (with and without the fused
 * ReLU), backward-data and backward-filter (with the bias gradient).
 *
 * - Against PyTorch, in both suites: every case of test/reference/fixtures/ops/conv2d (stride,
 *   groups 2, bias or none, symmetric and asymmetric padding for Keras and TensorFlow SAME, odd and
 *   rectangular sizes, 11x11 stride 4, 1x1, fused ReLU); on the device in strict fp32 and in TF32.
 * - Against the CPU build, in the GPU suite only: fresh seeded inputs at AlexNet's layer shapes
 *   (batch 2, reduced spatial size for the first layer), where cuDNN picks the algorithms training
 *   will use; fp32 and TF32.
 *
 * Tolerances: fp32 1e-4 relative (FP32_RTOL); TF32 1e-2 (TF32_RTOL).
 * With a fused ReLU, the backward passes use the gradient masked by the reference output (the
 * fixture's y, or the CPU's), so that a TF32 output within rounding of 0 cannot flip the mask.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { conv2d, conv2dBackwardData, conv2dBackwardFilter, reluBackward, type Padding2d } from '../../lib/ops/index';
import { loadFixture } from '../helpers';
import { describeDeviceOnly, describeOnDevice, device, mathModes } from '../support/device';
import { checkTensor } from '../support/report';
import { disposeAll, disposePairs, fixtureTensor, randomPair } from '../support/tensors';

interface FixtureCase {
  name: string;
  stride: [number, number];
  padding: { top: number; bottom: number; left: number; right: number };
  groups: number;
  bias: boolean;
  relu: boolean;
}

interface RandomCase {
  name: string;
  input: [number, number, number, number];
  outChannels: number;
  kernel: [number, number];
  stride: [number, number];
  padding: Padding2d;
  groups: number;
  bias: boolean;
  relu: boolean;
}

const RANDOM_CASES: RandomCase[] = [
  {
    name: 'conv1 11x11 stride 4 pad 2 (torchvision), fused ReLU',
    input: [2, 3, 63, 63],
    outChannels: 64,
    kernel: [11, 11],
    stride: [4, 4],
    padding: 2,
    groups: 1,
    bias: true,
    relu: true,
  },
  {
    name: 'conv1 11x11 stride 4, one input channel (d2l)',
    input: [2, 1, 60, 60],
    outChannels: 96,
    kernel: [11, 11],
    stride: [4, 4],
    padding: 1,
    groups: 1,
    bias: true,
    relu: true,
  },
  {
    name: 'conv1 11x11 stride 4, Keras ZeroPadding2D((1, 2), (1, 2))',
    input: [2, 3, 59, 59],
    outChannels: 48,
    kernel: [11, 11],
    stride: [4, 4],
    padding: { top: 1, bottom: 2, left: 1, right: 2 },
    groups: 1,
    bias: true,
    relu: false,
  },
  {
    name: 'conv1 11x11 stride 4, TensorFlow SAME (3 before, 4 after)',
    input: [2, 3, 64, 64],
    outChannels: 96,
    kernel: [11, 11],
    stride: [4, 4],
    padding: { top: 3, bottom: 4, left: 3, right: 4 },
    groups: 1,
    bias: true,
    relu: true,
  },
  {
    name: 'conv2 5x5 pad 2 (torchvision), fused ReLU',
    input: [2, 64, 27, 27],
    outChannels: 192,
    kernel: [5, 5],
    stride: [1, 1],
    padding: 2,
    groups: 1,
    bias: true,
    relu: true,
  },
  {
    name: 'conv2 5x5 pad 2, groups 2 (paper)',
    input: [2, 96, 27, 27],
    outChannels: 256,
    kernel: [5, 5],
    stride: [1, 1],
    padding: 2,
    groups: 2,
    bias: true,
    relu: false,
  },
  {
    name: 'conv3 3x3 pad 1 (2304 inputs per output)',
    input: [2, 256, 13, 13],
    outChannels: 384,
    kernel: [3, 3],
    stride: [1, 1],
    padding: 1,
    groups: 1,
    bias: true,
    relu: false,
  },
  {
    name: 'conv4 3x3 pad 1, groups 2 (paper), fused ReLU',
    input: [2, 384, 13, 13],
    outChannels: 384,
    kernel: [3, 3],
    stride: [1, 1],
    padding: 1,
    groups: 2,
    bias: true,
    relu: true,
  },
  {
    name: 'odd sizes: 3x4 kernel, stride (2, 1), asymmetric padding, groups 3, no bias',
    input: [3, 6, 17, 14],
    outChannels: 9,
    kernel: [3, 4],
    stride: [2, 1],
    padding: { top: 0, bottom: 1, left: 2, right: 1 },
    groups: 3,
    bias: false,
    relu: false,
  },
  { name: '1x1', input: [2, 32, 9, 9], outChannels: 16, kernel: [1, 1], stride: [1, 1], padding: 0, groups: 1, bias: true, relu: false },
];

const fixture = loadFixture('ops/conv2d');

describeOnDevice('conv2d', () => {
  afterEach(() => device().setMathMode('fp32'));

  describe('against PyTorch (fixtures)', () => {
    for (const c of fixture.cases as unknown as FixtureCase[]) {
      it(c.name, async () => {
        const dev = device();
        const get = (role: string) => fixture.get(`${c.name}.${role}`);
        const geometry = { stride: c.stride, padding: c.padding, groups: c.groups };
        const x = fixtureTensor(get('x'), dev);
        const w = fixtureTensor(get('w'), dev);
        const b = c.bias ? fixtureTensor(get('b'), dev) : null;
        const dy = fixtureTensor(get('dy'), dev);
        const yRef = fixtureTensor(get('y'), dev);
        // The fixture's gradients are through ReLU(conv) when fused: mask dy with the exact output.
        const dConv = c.relu ? reluBackward(yRef, dy) : dy.share();
        try {
          for (const [mode, tolerance] of mathModes()) {
            dev.setMathMode(mode);
            const group = `conv2d vs PyTorch (${mode})`;
            const y = conv2d(x, w, b, { ...geometry, relu: c.relu });
            const dx = conv2dBackwardData(dConv, w, x.shape, geometry);
            const { gradWeight, gradBias } = conv2dBackwardFilter(x, dConv, w.shape, { ...geometry, bias: c.bias });
            await checkTensor(group, `${c.name} y`, y, get('y'), tolerance);
            await checkTensor(group, `${c.name} dx`, dx, get('dx'), tolerance);
            await checkTensor(group, `${c.name} dw`, gradWeight, get('dw'), tolerance);
            if (c.bias) await checkTensor(group, `${c.name} db`, gradBias!, get('db'), tolerance);
            else expect(gradBias, `${c.name}: no bias gradient was asked for, got one`).toBeNull();
            disposeAll(y, dx, gradWeight, gradBias);
          }
        } finally {
          disposeAll(x, w, b, dy, yRef, dConv);
        }
      });
    }
  });

  describeDeviceOnly('against the CPU build (fresh random inputs, AlexNet layer shapes)', () => {
    RANDOM_CASES.forEach((c, index) => {
      it(c.name, async () => {
        const dev = device();
        const channels = c.input[1];
        const [kh, kw] = c.kernel;
        const geometry = { stride: c.stride, padding: c.padding, groups: c.groups };
        const fanIn = (channels / c.groups) * kh * kw;
        const seed = 1000 * (index + 1);
        const x = await randomPair(c.input, seed, dev);
        const w = await randomPair([c.outChannels, channels / c.groups, kh, kw], seed + 1, dev, { std: 1 / Math.sqrt(fanIn) });
        const b = c.bias ? await randomPair([c.outChannels], seed + 2, dev, { std: 0.5 }) : null;
        // The reference on the CPU.
        const yCpu = conv2d(x.cpu, w.cpu, b?.cpu ?? null, { ...geometry, relu: c.relu });
        const dy = await randomPair(yCpu.shape, seed + 3, dev);
        const dConvCpu = c.relu ? reluBackward(yCpu, dy.cpu) : dy.cpu.share();
        const dxCpu = conv2dBackwardData(dConvCpu, w.cpu, x.cpu.shape, geometry);
        const cpuGrads = conv2dBackwardFilter(x.cpu, dConvCpu, w.cpu.shape, { ...geometry, bias: c.bias });
        const dConv = await dConvCpu.to(dev);
        try {
          for (const [mode, tolerance] of mathModes()) {
            dev.setMathMode(mode);
            const group = `conv2d vs CPU (${mode})`;
            const y = conv2d(x.dev, w.dev, b?.dev ?? null, { ...geometry, relu: c.relu });
            const dx = conv2dBackwardData(dConv, w.dev, x.dev.shape, geometry);
            const { gradWeight, gradBias } = conv2dBackwardFilter(x.dev, dConv, w.dev.shape, { ...geometry, bias: c.bias });
            await checkTensor(group, `${c.name}: y`, y, yCpu, tolerance);
            await checkTensor(group, `${c.name}: dx`, dx, dxCpu, tolerance);
            await checkTensor(group, `${c.name}: dw`, gradWeight, cpuGrads.gradWeight, tolerance);
            if (c.bias) await checkTensor(group, `${c.name}: db`, gradBias!, cpuGrads.gradBias!, tolerance);
            disposeAll(y, dx, gradWeight, gradBias);
          }
        } finally {
          disposePairs(x, w, dy, ...(b ? [b] : []));
          disposeAll(yCpu, dConvCpu, dxCpu, cpuGrads.gradWeight, cpuGrads.gradBias, dConv);
        }
      });
    });
  });
});
