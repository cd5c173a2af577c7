/**
 * Dropout: masks from Philox 4x32-10 bit for bit against the script's numpy implementation of the
 * same generator (checked there against Random123's known answers), inverted scaling, p = 0,
 * the layer's advancing offset and its identity in evaluation, and the keep fraction of a large mask.
 */
import { describe, expect, it } from 'vitest';

import { Dropout } from '../../lib/nn/index';
import { dropout, multiply } from '../../lib/ops/index';
import { Tensor } from '../../lib/tensor';
import { compareArrays, cpuTensor, expectTensorClose, loadFixture } from '../helpers';

const fixture = loadFixture('ops/dropout');

interface DropoutCase {
  name: string;
  p: number;
  seed: string;
  offset: string;
  secondOffset?: string;
}

const cases = fixture.cases as unknown as DropoutCase[];

describe('dropout masks match the reference Philox stream bit for bit', () => {
  for (const c of cases.filter((k) => !k.name.startsWith('layer'))) {
    it(c.name, async () => {
      const get = (role: string) => fixture.get(`${c.name}.${role}`);
      const x = cpuTensor(get('x'));
      const dy = cpuTensor(get('dy'));
      const { output, mask } = dropout(x, c.p, BigInt(c.seed), BigInt(c.offset));
      await expectTensorClose(`${c.name} dx`, multiply(dy, mask), get('dx'), 0);
      await expectTensorClose(`${c.name} mask`, mask, get('mask'), 0);
      await expectTensorClose(`${c.name} y`, output, get('y'), 0);
      x.dispose();
      dy.dispose();
    });
  }

  it('scales kept elements by 1 / (1 - p) and zeroes the rest', async () => {
    const p = 0.2;
    const x = Tensor.full([4099], 3, { backend: 'cpu' });
    const { output, mask } = dropout(x, p, 12345n, 8n);
    const scale = Math.fround(1 / Math.fround(1 - Math.fround(p)));
    const maskValues = (await mask.toArray()) as Float32Array;
    const outputValues = (await output.toArray()) as Float32Array;
    expect(new Set(maskValues)).toEqual(new Set([0, scale]));
    for (let i = 0; i < maskValues.length; i++) expect(outputValues[i]).toBe(Math.fround(3 * maskValues[i]!));
    const kept = maskValues.filter((v) => v !== 0).length / maskValues.length;
    expect(Math.abs(kept - (1 - p))).toBeLessThan(0.03); // 4,099 draws: the keep fraction's spread is about 0.006
    for (const t of [x, output, mask]) t.dispose();
  });
});

describe('Dropout layer', () => {
  const c = cases.find((k) => k.name === 'layer_two_forwards')!;
  const get = (role: string) => fixture.get(`${c.name}.${role}`);

  it('draws consecutive masks: offset 0, then offset advanced by the element count rounded up to 4', async () => {
    const layer = new Dropout(c.p, { seed: BigInt(c.seed) });
    const x = cpuTensor(get('x'));
    const ones = Tensor.full(x.shape, 1, { backend: 'cpu' });
    for (const [step, offset] of [c.offset, c.secondOffset!].entries()) {
      expect(layer.offset).toBe(BigInt(offset));
      const y = layer.forward(x);
      const mask = get(`mask${step}`);
      const maskValues = mask.data as Float32Array;
      const expectedY = (get('x').data as Float32Array).map((v, i) => v * maskValues[i]!);
      await expectTensorClose(`forward ${step}`, y, { shape: mask.shape, data: expectedY }, 0);
      // backward multiplies by the same mask: a gradient of ones gives the mask itself
      await expectTensorClose(`backward ${step}`, layer.backward(ones)!, mask, 0);
    }
    expect(layer.getState()).toEqual({ seed: c.seed, offset: String(2n * BigInt(c.secondOffset!)) });
    x.dispose();
    ones.dispose();
  });

  it('is the identity in evaluation mode and does not advance its stream', async () => {
    const layer = new Dropout(0.5, { seed: 1 }).eval();
    const x = cpuTensor(get('x'));
    const y = layer.forward(x);
    compareArrays('eval forward', await y.toArray(), get('x').data as Float32Array, 0);
    const dy = Tensor.full(x.shape, 3, { backend: 'cpu' });
    compareArrays('eval backward', await layer.backward(dy)!.toArray(), new Float32Array(x.size).fill(3), 0);
    expect(layer.offset).toBe(0n);
    for (const t of [x, y, dy]) t.dispose();
  });

  it('with p = 0 keeps every element unscaled in training mode', async () => {
    const layer = new Dropout(0, { seed: 1 });
    const x = cpuTensor(get('x'));
    compareArrays('p=0 forward', await layer.forward(x).toArray(), get('x').data as Float32Array, 0);
    x.dispose();
  });
});

describe('dropout mask statistics', () => {
  for (const p of [0.1, 0.5, 0.8]) {
    it(`keeps a fraction 1 - p of 2^20 elements within 5 standard deviations (p = ${p})`, async () => {
      const n = 1 << 20;
      const x = Tensor.full([n], 1, { backend: 'cpu' });
      const { output, mask } = dropout(x, p, 0xdecafbadn, 0);
      const values = Array.from(await mask.toArray());
      const kept = values.reduce((count, v) => count + (v !== 0 ? 1 : 0), 0);
      const sigma = Math.sqrt((p * (1 - p)) / n);
      expect(Math.abs(kept / n - (1 - p))).toBeLessThan(5 * sigma);
      // inverted scaling keeps the expected value: the mean of the output is 1 within the same bound
      const mean = Array.from(await output.toArray()).reduce((a, v) => a + v, 0) / n;
      expect(Math.abs(mean - 1)).toBeLessThan((5 * sigma) / (1 - p));
      for (const t of [x, output, mask]) t.dispose();
    });
  }
});
