/**
 * The seeded generators: Tensor.uniform draws the shared Philox stream bit for bit (as the
 * reference script computes it), Tensor.normal its Box-Muller transform (with TensorFlow-style
 * truncation redrawing from the same stream), and deriveSeed is SplitMix64.
 */
import { describe, expect, it } from 'vitest';

import { deriveSeed } from '../../lib/random';
import { Tensor } from '../../lib/tensor';
import { expectTensorClose, loadFixture } from '../helpers';

const fixture = loadFixture('ops/random');

describe('seeded random tensors match the reference Philox stream', () => {
  for (const name of ['uniform_small_seed', 'uniform_big_seed']) {
    it(`${name}: Tensor.uniform in [0, 1) bit for bit`, async () => {
      const c = fixture.cases.find((k) => k.name === name)!;
      const expected = fixture.get(`${name}.values`);
      const t = Tensor.uniform(expected.shape, { low: 0, high: 1, seed: BigInt(c.seed as string) }, { backend: 'cpu' });
      await expectTensorClose(name, t, expected, 0);
    });
  }

  it('Tensor.normal: Box-Muller over the same stream (float32 log and cos, so within 1e-5)', async () => {
    const c = fixture.cases.find((k) => k.name === 'normal')!;
    const expected = fixture.get('normal.values');
    const t = Tensor.normal(expected.shape, { mean: c.mean as number, std: c.std as number, seed: BigInt(c.seed as string) }, { backend: 'cpu' });
    await expectTensorClose('normal', t, expected, 1e-5);
  });

  it('Tensor.normal with truncation 2 (TensorFlow truncated_normal): redraws from the same stream, within 1e-5', async () => {
    const c = fixture.cases.find((k) => k.name === 'truncated_normal')!;
    const expected = fixture.get('truncated_normal.values');
    const options = { mean: c.mean as number, std: c.std as number, seed: BigInt(c.seed as string) };
    const t = Tensor.normal(expected.shape, { ...options, truncation: 2 }, { backend: 'cpu' });
    const values = (await t.toArray()) as Float32Array;
    await expectTensorClose('truncated normal', t, expected, 1e-5);
    // Every value within two standard deviations; the script saw some draws that needed a redraw.
    expect(c.redrawn as number).toBeGreaterThan(40);
    for (const v of values) expect(Math.abs(v - options.mean)).toBeLessThanOrEqual(2 * options.std * (1 + 1e-6));
    // Where no redraw was needed, the value is the untruncated draw of the same seed.
    const plain = Tensor.normal(expected.shape, options, { backend: 'cpu' });
    const plainValues = (await plain.toArray()) as Float32Array;
    let same = 0;
    for (let i = 0; i < values.length; i++) if (values[i] === plainValues[i]) same++;
    expect(same).toBe(values.length - (c.redrawn as number));
    plain.dispose();
  });

  it('Tensor.normal rejects a negative or non-finite truncation by name', () => {
    expect(() => Tensor.normal([2], { seed: 1, truncation: -1 }, { backend: 'cpu' })).toThrow(/truncation must be non-negative/);
    expect(() => Tensor.normal([2], { seed: 1, truncation: Number.NaN }, { backend: 'cpu' })).toThrow(/truncation must be finite/);
  });
});

describe('deriveSeed', () => {
  it('is SplitMix64 of base + 0x9e3779b97f4a7c15 * (stream + 1), as the script computes it', () => {
    const table = JSON.parse(fixture.metadata.derive_seed!) as [string, number, string][];
    expect(table.length).toBeGreaterThan(0);
    for (const [base, stream, expected] of table) expect(deriveSeed(BigInt(base), stream).toString()).toBe(expected);
  });
});
