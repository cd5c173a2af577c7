/**
 * Fully connected forward (with and without bias, with the fused ReLU) and both backward GEMMs
 * against PyTorch; and the Linear layer, whose parameters are loaded from the fixture.
 */
import { describe, it } from 'vitest';

import { Linear, ReLU, Sequential } from '../../lib/nn/index';
import { linear, linearBackwardData, linearBackwardWeight, reluBackward } from '../../lib/ops/index';
import { cpuTensor, expectTensorClose, loadFixture } from '../helpers';

const fixture = loadFixture('ops/linear');

interface LinearCase {
  name: string;
  bias: boolean;
  relu: boolean;
}

describe('linear matches PyTorch', () => {
  for (const c of fixture.cases as unknown as LinearCase[]) {
    it(c.name, async () => {
      const get = (role: string) => fixture.get(`${c.name}.${role}`);
      const x = cpuTensor(get('x'));
      const w = cpuTensor(get('w'));
      const b = c.bias ? cpuTensor(get('b')) : null;
      const dy = cpuTensor(get('dy'));
      const y = linear(x, w, b, { relu: c.relu });
      const dLinear = c.relu ? reluBackward(y, dy) : dy;
      const { gradWeight, gradBias } = linearBackwardWeight(x, dLinear, { bias: c.bias });
      await expectTensorClose(`${c.name} dx`, linearBackwardData(dLinear, w), get('dx'));
      await expectTensorClose(`${c.name} dw`, gradWeight, get('dw'));
      if (c.bias) await expectTensorClose(`${c.name} db`, gradBias!, get('db'));
      else if (gradBias !== null) throw new Error(`${c.name}: no bias gradient was asked for, got one`);
      await expectTensorClose(`${c.name} y`, y, get('y'));
      for (const t of [x, w, b, dy, dLinear]) t?.dispose();
    });
  }

  it('the Linear layer (fused with a following ReLU in a Sequential) with parameters set by name', async () => {
    const c = 'fused_relu';
    const get = (role: string) => fixture.get(`${c}.${role}`);
    const [out, inFeatures] = get('w').shape as [number, number];
    const layer = new Linear({ inFeatures, outFeatures: out, backend: 'cpu', seed: 3 });
    const net = new Sequential(layer, new ReLU());
    for (const [name, p] of net.namedParameters()) p.set(cpuTensor(get(name === '0.weight' ? 'w' : 'b')));
    const x = cpuTensor(get('x'));
    const dy = cpuTensor(get('dy'));
    await expectTensorClose('layer y', net.forward(x), get('y'));
    await expectTensorClose('layer dx', net.backward(dy)!, get('dx'));
    await expectTensorClose('layer dw', layer.weight.grad!.share(), get('dw'));
    await expectTensorClose('layer db', layer.bias!.grad!.share(), get('db'));
    x.dispose();
    dy.dispose();
    net.dispose();
  });
});
