/**
 * Dropout on the device: the mask from Philox 4x32-10 keyed by (seed, offset) must be the CPU's bit
 * for bit, so that a model draws the same masks on every backend (and a checkpoint resumes the same
 * stream anywhere). Outputs and the backward product are single float32 multiplies: bit-exact too.
 *
 * - Against the reference generator: test/reference/fixtures/ops/dropout (numpy Philox, checked
 *   against Random123's known answers), including 64-bit seeds, offsets that are not multiples of
 *   4 and offsets past 2^32, and the Dropout layer's two consecutive forwards.
 * - Against the CPU build at AlexNet's classifier sizes, for both presets' rates (0.5, 0.2).
 */
import { describe, expect, it } from 'vitest';

import { Dropout } from '../../lib/nn/index';
import { dropout, multiply } from '../../lib/ops/index';
import { Tensor } from '../../lib/tensor';
import { loadFixture } from '../helpers';
import { describeOnDevice, device } from './support/device';
import { checkTensor } from './support/report';
import { disposeAll, disposePairs, fixtureTensor, randomPair } from './support/tensors';

interface FixtureCase {
  name: string;
  p: number;
  seed: string;
  offset: string;
  secondOffset?: string;
}

interface RandomCase {
  shape: number[];
  p: number;
  seed: bigint;
  offset: bigint;
}

const RANDOM_CASES: RandomCase[] = [
  { shape: [2, 4096], p: 0.5, seed: 7n, offset: 0n },
  { shape: [3, 9216], p: 0.5, seed: 0x5eedn, offset: 8192n },
  { shape: [128, 2048], p: 0.2, seed: (1n << 64n) - 1n, offset: (1n << 40n) + 2n },
  { shape: [5, 1001], p: 0.5, seed: 123456789n, offset: 3n },
];

const fixture = loadFixture('ops/dropout');
const cases = fixture.cases as unknown as FixtureCase[];

describeOnDevice('dropout on the device', () => {
  describe('against the reference Philox stream (fixtures)', () => {
    for (const c of cases.filter((k) => !k.name.startsWith('layer'))) {
      it(c.name, async () => {
        const dev = device();
        const get = (role: string) => fixture.get(`${c.name}.${role}`);
        const x = fixtureTensor(get('x'), dev);
        const dy = fixtureTensor(get('dy'), dev);
        const { output, mask } = dropout(x, c.p, BigInt(c.seed), BigInt(c.offset));
        const dx = multiply(dy, mask);
        await checkTensor('dropout vs reference', `${c.name} mask`, mask, get('mask'), 'bitwise');
        await checkTensor('dropout vs reference', `${c.name} y`, output, get('y'), 'bitwise');
        await checkTensor('dropout vs reference', `${c.name} dx`, dx, get('dx'), 'bitwise');
        disposeAll(x, dy, output, mask, dx);
      });
    }

    it('the Dropout layer draws consecutive masks', async () => {
      const c = cases.find((k) => k.name === 'layer_two_forwards')!;
      const get = (role: string) => fixture.get(`${c.name}.${role}`);
      const dev = device();
      const layer = new Dropout(c.p, { seed: BigInt(c.seed) });
      const x = fixtureTensor(get('x'), dev);
      const ones = Tensor.full(x.shape, 1, { backend: dev });
      for (const step of [0, 1]) {
        const y = layer.forward(x);
        const mask = layer.backward(ones)!;  // the gradient of ones is the mask itself
        await checkTensor('dropout vs reference', `layer forward ${step}: mask`, mask, get(`mask${step}`), 'bitwise');
        disposeAll(y, mask);
      }
      expect(layer.offset).toBe(2n * BigInt(c.secondOffset!));
      disposeAll(x, ones);
    });
  });

  describe('against the CPU build (fresh random inputs)', () => {
    RANDOM_CASES.forEach((c, index) => {
      it(`${c.shape.join(' x ')}, p ${c.p}, seed ${c.seed}, offset ${c.offset}`, async () => {
        const dev = device();
        const x = await randomPair(c.shape, 7000 + index, dev);
        const dy = await randomPair(c.shape, 7100 + index, dev);
        const reference = dropout(x.cpu, c.p, c.seed, c.offset);
        const dxCpu = multiply(dy.cpu, reference.mask);
        const { output, mask } = dropout(x.dev, c.p, c.seed, c.offset);
        const dx = multiply(dy.dev, mask);
        const name = `${c.shape.join('x')} p ${c.p}`;
        await checkTensor('dropout vs CPU', `${name}: mask`, mask, reference.mask, 'bitwise');
        await checkTensor('dropout vs CPU', `${name}: y`, output, reference.output, 'bitwise');
        await checkTensor('dropout vs CPU', `${name}: dx`, dx, dxCpu, 'bitwise');
        disposePairs(x, dy);
        disposeAll(reference.output, reference.mask, dxCpu, output, mask, dx);
      });
    });
  });
});
