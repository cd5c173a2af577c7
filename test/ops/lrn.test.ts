/**
 * Local response normalization against PyTorch's F.local_response_norm (our alpha convention is
 * PyTorch's): sizes 1 to 7, channel counts below, at and above the window, the paper's constants
 * and others (beta != 0.75, k != 2). Also the layer built from the paper's constants.
 */
import { describe, expect, it } from 'vitest';

import { LocalResponseNorm } from '../../lib/nn/index';
import { localResponseNorm, localResponseNormBackward } from '../../lib/ops/index';
import { cpuTensor, expectTensorClose, loadFixture } from '../helpers';

const fixture = loadFixture('ops/lrn');

interface LrnCase {
  name: string;
  size: number;
  alpha: number;
  beta: number;
  k: number;
}

describe('localResponseNorm matches PyTorch', () => {
  for (const c of fixture.cases as unknown as LrnCase[]) {
    it(c.name, async () => {
      const get = (role: string) => fixture.get(`${c.name}.${role}`);
      const params = { size: c.size, alpha: c.alpha, beta: c.beta, k: c.k };
      const x = cpuTensor(get('x'));
      const dy = cpuTensor(get('dy'));
      const y = localResponseNorm(x, params);
      const dx = localResponseNormBackward(x, y, dy, params);
      await expectTensorClose(`${c.name} dx`, dx, get('dx'));
      await expectTensorClose(`${c.name} y`, y, get('y'));
      x.dispose();
      dy.dispose();
    });
  }
});

describe('LocalResponseNorm layer', () => {
  it('converts the paper constants (alpha multiplies the sum) into PyTorch alpha = 1e-4 * 5', async () => {
    const layer = LocalResponseNorm.fromPaper({ size: 5, alpha: 1e-4, beta: 0.75, k: 2 });
    expect(layer.params).toEqual({ size: 5, alpha: 1e-4 * 5, beta: 0.75, k: 2 });
    const c = 'paper_constants';
    const x = cpuTensor(fixture.get(`${c}.x`));
    const y = layer.forward(x);
    const dx = layer.backward(cpuTensor(fixture.get(`${c}.dy`)))!;
    await expectTensorClose('layer y', y, fixture.get(`${c}.y`));
    await expectTensorClose('layer dx', dx, fixture.get(`${c}.dx`));
    x.dispose();
  });
});
