/**
 * The seeded generators: Tensor.uniform draws the shared Philox stream bit for bit (as the
 * reference script computes it), Tensor.normal its Box-Muller transform, and deriveSeed is SplitMix64.
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
});

describe('deriveSeed', () => {
  it('is SplitMix64 of base + 0x9e3779b97f4a7c15 * (stream + 1), as the script computes it', () => {
    const table = JSON.parse(fixture.metadata.derive_seed!) as [string, number, string][];
    expect(table.length).toBeGreaterThan(0);
    for (const [base, stream, expected] of table) expect(deriveSeed(BigInt(base), stream).toString()).toBe(expected);
  });
});
