/**
 * Max pooling (overlapping 3/2, 2/2, padding, odd sizes, ties) and adaptive average pooling
 * (non-divisible sizes, upsampling, identity, global) against PyTorch, forward and backward;
 * also the layers' outputShape against the computed shapes.
 */
import { describe, expect, it } from 'vitest';

import { AdaptiveAvgPool2d, MaxPool2d } from '../../lib/nn/index';
import { adaptiveAvgPool2d, adaptiveAvgPool2dBackward, maxPool2d, maxPool2dBackward } from '../../lib/ops/index';
import { cpuTensor, expectTensorClose, loadFixture } from '../helpers';

const fixture = loadFixture('ops/pool2d');

type PoolCase =
  | { name: string; kind: 'max'; kernelSize: [number, number]; stride: [number, number]; padding: [number, number] }
  | { name: string; kind: 'adaptive'; outputSize: [number, number] };

describe('pooling matches PyTorch', () => {
  for (const c of fixture.cases as unknown as PoolCase[]) {
    it(c.name, async () => {
      const get = (role: string) => fixture.get(`${c.name}.${role}`);
      const x = cpuTensor(get('x'));
      const dy = cpuTensor(get('dy'));
      let y;
      let dx;
      if (c.kind === 'max') {
        const options = { kernelSize: c.kernelSize, stride: c.stride, padding: c.padding };
        expect(new MaxPool2d(options).outputShape(x.shape)).toEqual(get('y').shape);
        y = maxPool2d(x, options);
        dx = maxPool2dBackward(x, y, dy, options);
      } else {
        expect(new AdaptiveAvgPool2d(c.outputSize).outputShape(x.shape)).toEqual(get('y').shape);
        y = adaptiveAvgPool2d(x, c.outputSize);
        dx = adaptiveAvgPool2dBackward(dy, x.shape);
      }
      await expectTensorClose(`${c.name} dx`, dx, get('dx'));
      await expectTensorClose(`${c.name} y`, y, get('y'));
      x.dispose();
      dy.dispose();
    });
  }
});
