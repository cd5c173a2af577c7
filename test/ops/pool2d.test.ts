/**
 * Pooling on the backend under test (test/support/device.ts): max pooling and adaptive average
 * pooling, forward and backward, and the layers' outputShape against the computed shapes.
 *
 * - Against PyTorch: every case of test/reference/fixtures/ops/pool2d (overlapping 3/2 windows,
 *   2/2, padding, odd sizes, rectangular windows, ties where each window's gradient goes to its
 *   first maximum; adaptive pooling down with non-divisible sizes, up, to the same size and to 1x1).
 * - Against the CPU build, in the GPU suite only, on fresh seeded inputs at AlexNet's shapes, on
 *   ReLU outputs (a quarter of 3x3 windows over them hold several zeros, and all-zero windows tie)
 *   and on values quantized to halves (ties everywhere).
 *
 * Tolerances: max pooling forward is exact (a maximum involves no rounding); its backward sums the
 * gradients of overlapping windows, in any order, so 1e-4; adaptive pooling 1e-4.
 */
import { describe, expect, it } from 'vitest';

import type { Backend } from '../../lib/backend/backend';
import { AdaptiveAvgPool2d, MaxPool2d } from '../../lib/nn/index';
import { adaptiveAvgPool2d, adaptiveAvgPool2dBackward, maxPool2d, maxPool2dBackward, type MaxPool2dOptions } from '../../lib/ops/index';
import { FP32_RTOL, loadFixture } from '../helpers';
import { describeDeviceOnly, describeOnDevice, device } from '../support/device';
import { checkTensor } from '../support/report';
import { disposeAll, disposePairs, fixtureTensor, pairFrom, randomPair, type Pair } from '../support/tensors';

type FixtureCase =
  | { name: string; kind: 'max'; kernelSize: [number, number]; stride: [number, number]; padding: [number, number] }
  | { name: string; kind: 'adaptive'; outputSize: [number, number] };

type Values = 'normal' | 'relu' | 'halves';

interface MaxCase {
  name: string;
  input: [number, number, number, number];
  values: Values;
  options: MaxPool2dOptions;
}

interface AdaptiveCase {
  name: string;
  input: [number, number, number, number];
  outputSize: [number, number];
}

const OVERLAPPING: MaxPool2dOptions = { kernelSize: 3, stride: 2 };

const MAX_CASES: MaxCase[] = [
  { name: 'pool1 (paper): 96 x 55 x 55, 3/2', input: [2, 96, 55, 55], values: 'normal', options: OVERLAPPING },
  { name: 'pool2 (torchvision) on ReLU outputs: 192 x 27 x 27, 3/2', input: [2, 192, 27, 27], values: 'relu', options: OVERLAPPING },
  { name: 'pool5 on values in halves (ties): 256 x 13 x 13, 3/2', input: [2, 256, 13, 13], values: 'halves', options: OVERLAPPING },
  { name: '2/2 on ReLU outputs, odd size', input: [2, 8, 11, 9], values: 'relu', options: { kernelSize: 2, stride: 2 } },
  { name: '3/2 with padding 1, ties', input: [2, 8, 12, 12], values: 'halves', options: { kernelSize: 3, stride: 2, padding: 1 } },
  {
    name: 'rectangular 3x2, stride (2, 1), padding (1, 0)',
    input: [2, 4, 9, 8],
    values: 'normal',
    options: { kernelSize: [3, 2], stride: [2, 1], padding: [1, 0] },
  },
];

const ADAPTIVE_CASES: AdaptiveCase[] = [
  { name: 'avgpool (torchvision): 256 x 13 x 13 -> 6 x 6', input: [2, 256, 13, 13], outputSize: [6, 6] },
  { name: 'identity: 256 x 6 x 6 -> 6 x 6', input: [2, 256, 6, 6], outputSize: [6, 6] },
  { name: 'upsampling: 5 x 5 -> 6 x 6', input: [2, 16, 5, 5], outputSize: [6, 6] },
  { name: 'rectangular: 9 x 5 -> 4 x 3', input: [3, 4, 9, 5], outputSize: [4, 3] },
  { name: 'global: 7 x 6 -> 1 x 1', input: [2, 8, 7, 6], outputSize: [1, 1] },
];

async function inputPair(shape: number[], seed: number, values: Values, dev: Backend): Promise<Pair> {
  const drawn = await randomPair(shape, seed, dev);
  if (values === 'normal') return drawn;
  disposePairs(drawn);
  const transform = values === 'relu' ? (v: number) => Math.max(v, 0) : (v: number) => Math.round(2 * v) / 2;
  return pairFrom(drawn.values.map(transform), shape, dev);
}

const fixture = loadFixture('ops/pool2d');

describeOnDevice('pooling', () => {
  describe('against PyTorch (fixtures)', () => {
    for (const c of fixture.cases as unknown as FixtureCase[]) {
      it(c.name, async () => {
        const dev = device();
        const get = (role: string) => fixture.get(`${c.name}.${role}`);
        const x = fixtureTensor(get('x'), dev);
        const dy = fixtureTensor(get('dy'), dev);
        if (c.kind === 'max') {
          const options = { kernelSize: c.kernelSize, stride: c.stride, padding: c.padding };
          expect(new MaxPool2d(options).outputShape(x.shape), `${c.name}: MaxPool2d.outputShape`).toEqual(get('y').shape);
          const y = maxPool2d(x, options);
          const dx = maxPool2dBackward(x, y, dy, options);
          await checkTensor('max pool vs PyTorch', `${c.name} y`, y, get('y'), 0);
          await checkTensor('max pool vs PyTorch', `${c.name} dx`, dx, get('dx'), FP32_RTOL);
          disposeAll(y, dx);
        } else {
          expect(new AdaptiveAvgPool2d(c.outputSize).outputShape(x.shape), `${c.name}: AdaptiveAvgPool2d.outputShape`).toEqual(
            get('y').shape,
          );
          const y = adaptiveAvgPool2d(x, c.outputSize);
          const dx = adaptiveAvgPool2dBackward(dy, x.shape);
          await checkTensor('adaptive avg pool vs PyTorch', `${c.name} y`, y, get('y'), FP32_RTOL);
          await checkTensor('adaptive avg pool vs PyTorch', `${c.name} dx`, dx, get('dx'), FP32_RTOL);
          disposeAll(y, dx);
        }
        disposeAll(x, dy);
      });
    }
  });

  describeDeviceOnly('max pooling against the CPU build (fresh random inputs)', () => {
    MAX_CASES.forEach((c, index) => {
      it(c.name, async () => {
        const dev = device();
        const seed = 4000 * (index + 1);
        const x = await inputPair(c.input, seed, c.values, dev);
        const yCpu = maxPool2d(x.cpu, c.options);
        const dy = await randomPair(yCpu.shape, seed + 1, dev);
        const dxCpu = maxPool2dBackward(x.cpu, yCpu, dy.cpu, c.options);
        const y = maxPool2d(x.dev, c.options);
        const dx = maxPool2dBackward(x.dev, y, dy.dev, c.options);
        await checkTensor('max pool vs CPU', `${c.name}: y`, y, yCpu, 0);
        await checkTensor('max pool vs CPU', `${c.name}: dx`, dx, dxCpu, FP32_RTOL);
        disposePairs(x, dy);
        disposeAll(yCpu, dxCpu, y, dx);
      });
    });
  });

  describeDeviceOnly('adaptive average pooling against the CPU build (fresh random inputs)', () => {
    ADAPTIVE_CASES.forEach((c, index) => {
      it(c.name, async () => {
        const dev = device();
        const seed = 5000 * (index + 1);
        const x = await randomPair(c.input, seed, dev);
        const dy = await randomPair([c.input[0], c.input[1], ...c.outputSize], seed + 1, dev);
        const yCpu = adaptiveAvgPool2d(x.cpu, c.outputSize);
        const dxCpu = adaptiveAvgPool2dBackward(dy.cpu, x.cpu.shape);
        const y = adaptiveAvgPool2d(x.dev, c.outputSize);
        const dx = adaptiveAvgPool2dBackward(dy.dev, x.dev.shape);
        await checkTensor('adaptive avg pool vs CPU', `${c.name}: y`, y, yCpu, FP32_RTOL);
        await checkTensor('adaptive avg pool vs CPU', `${c.name}: dx`, dx, dxCpu, FP32_RTOL);
        disposePairs(x, dy);
        disposeAll(yCpu, dxCpu, y, dx);
      });
    });
  });
});
