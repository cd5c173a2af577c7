/**
 * conv2d forward, backward-data and backward-filter against PyTorch (test/reference/fixtures/ops/conv2d):
 * stride, groups, bias or none, symmetric and asymmetric padding, odd sizes, 11x11 stride 4, 1x1,
 * and the fused ReLU (compared with ReLU applied after the convolution).
 */
import { describe, it } from 'vitest';

import { conv2d, conv2dBackwardData, conv2dBackwardFilter, reluBackward, type Padding2d } from '../../lib/ops/index';
import { cpuTensor, expectTensorClose, loadFixture } from '../helpers';

const fixture = loadFixture('ops/conv2d');

interface ConvCase {
  name: string;
  stride: [number, number];
  padding: Exclude<Padding2d, number | [number, number]>;
  groups: number;
  bias: boolean;
  relu: boolean;
}

describe('conv2d matches PyTorch', () => {
  for (const c of fixture.cases as unknown as ConvCase[]) {
    it(c.name, async () => {
      const get = (role: string) => fixture.get(`${c.name}.${role}`);
      const x = cpuTensor(get('x'));
      const w = cpuTensor(get('w'));
      const b = c.bias ? cpuTensor(get('b')) : null;
      const dy = cpuTensor(get('dy'));
      const geometry = { stride: c.stride, padding: c.padding, groups: c.groups };
      const y = conv2d(x, w, b, { ...geometry, relu: c.relu });
      // With a fused ReLU, the gradient reaching the convolution is dy where y > 0.
      const dConv = c.relu ? reluBackward(y, dy) : dy;
      const dx = conv2dBackwardData(dConv, w, x.shape, geometry);
      const { gradWeight, gradBias } = conv2dBackwardFilter(x, dConv, w.shape, { ...geometry, bias: c.bias });
      await expectTensorClose(`${c.name} y`, y, get('y'));
      await expectTensorClose(`${c.name} dx`, dx, get('dx'));
      await expectTensorClose(`${c.name} dw`, gradWeight, get('dw'));
      if (c.bias) await expectTensorClose(`${c.name} db`, gradBias!, get('db'));
      else if (gradBias !== null) throw new Error(`${c.name}: no bias gradient was asked for, got one`);
      for (const t of [x, w, b, dy, dConv]) t?.dispose();
    });
  }
});
