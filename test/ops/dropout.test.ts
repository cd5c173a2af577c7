/**
 * Dropout on the backend under test (test/support/device.ts). The mask from Philox 4x32-10 keyed by
 * (seed, offset) must be the same bit for bit on every backend, so that a model draws the same
 * masks everywhere (and a checkpoint resumes the same stream anywhere). Outputs and the backward
 * product are single float32 multiplies: bit-exact too.
 *
 * - Against the reference generator: test/reference/fixtures/ops/dropout (numpy Philox, checked
 *   against Random123's known answers), including 64-bit seeds, offsets that are not multiples of
 *   4 and offsets past 2^32, and the Dropout layer's two consecutive forwards.
 * - Inverted scaling, p = 0, the layer's advancing offset and its identity in evaluation, and the
 *   keep fraction of large masks.
 * - Against the CPU build, in the GPU suite only: AlexNet's classifier sizes, for both presets'
 *   rates (0.5, 0.2).
 */
import { describe, expect, it } from 'vitest';

import { Dropout } from '../../lib/nn/index';
import { dropout, multiply } from '../../lib/ops/index';
import { Tensor } from '../../lib/tensor';
import { loadFixture } from '../helpers';
import { describeDeviceOnly, describeOnDevice, device } from '../support/device';
import { checkTensor } from '../support/report';
import { disposeAll, disposePairs, fixtureTensor, randomPair } from '../support/tensors';

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

describeOnDevice('dropout', () => {
  describe('against the reference Philox stream (fixtures), bit for bit', () => {
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

    it('the Dropout layer draws consecutive masks: offset 0, then offset advanced by the element count rounded up to 4', async () => {
      const c = cases.find((k) => k.name === 'layer_two_forwards')!;
      const get = (role: string) => fixture.get(`${c.name}.${role}`);
      const dev = device();
      const layer = new Dropout(c.p, { seed: BigInt(c.seed) });
      const x = fixtureTensor(get('x'), dev);
      const ones = Tensor.full(x.shape, 1, { backend: dev });
      for (const [step, offset] of [c.offset, c.secondOffset!].entries()) {
        expect(layer.offset).toBe(BigInt(offset));
        const y = layer.forward(x);
        const expectedMask = get(`mask${step}`);
        const maskValues = expectedMask.data as Float32Array;
        const expectedY = (get('x').data as Float32Array).map((v, i) => v * maskValues[i]);
        await checkTensor('dropout vs reference', `layer forward ${step}: y`, y, { shape: expectedMask.shape, data: expectedY }, 0);
        const mask = layer.backward(ones)!; // the gradient of ones is the mask itself
        await checkTensor('dropout vs reference', `layer forward ${step}: mask`, mask, expectedMask, 'bitwise');
        disposeAll(y, mask);
      }
      expect(layer.offset).toBe(2n * BigInt(c.secondOffset!));
      expect(layer.getState()).toEqual({ seed: c.seed, offset: String(2n * BigInt(c.secondOffset!)) });
      disposeAll(x, ones);
    });
  });

  describe('scaling and the Dropout layer', () => {
    const layerCase = cases.find((k) => k.name === 'layer_two_forwards')!;
    const layerInput = () => fixture.get(`${layerCase.name}.x`);

    it('scales kept elements by 1 / (1 - p) and zeroes the rest', async () => {
      const p = 0.2;
      const x = Tensor.full([4099], 3, { backend: device() });
      const { output, mask } = dropout(x, p, 12345n, 8n);
      const scale = Math.fround(1 / Math.fround(1 - Math.fround(p)));
      const maskValues = await mask.toArray();
      const outputValues = await output.toArray();
      expect(new Set(maskValues)).toEqual(new Set([0, scale]));
      for (let i = 0; i < maskValues.length; i++) expect(outputValues[i]).toBe(Math.fround(3 * maskValues[i]));
      const kept = maskValues.filter((v) => v !== 0).length / maskValues.length;
      expect(Math.abs(kept - (1 - p))).toBeLessThan(0.03); // 4,099 draws: the keep fraction's spread is about 0.006
      disposeAll(x, output, mask);
    });

    it('the layer is the identity in evaluation mode and does not advance its stream', async () => {
      const dev = device();
      const layer = new Dropout(0.5, { seed: 1 }).eval();
      const x = fixtureTensor(layerInput(), dev);
      const y = layer.forward(x);
      await checkTensor('dropout layer', 'eval forward', y, layerInput(), 0);
      const dy = Tensor.full(x.shape, 3, { backend: dev });
      const dx = layer.backward(dy)!;
      await checkTensor('dropout layer', 'eval backward', dx, { shape: x.shape, data: new Float32Array(x.size).fill(3) }, 0);
      expect(layer.offset).toBe(0n);
      disposeAll(x, y, dy, dx);
    });

    it('the layer with p = 0 keeps every element unscaled in training mode', async () => {
      const layer = new Dropout(0, { seed: 1 });
      const x = fixtureTensor(layerInput(), device());
      const y = layer.forward(x);
      await checkTensor('dropout layer', 'p=0 forward', y, layerInput(), 0);
      disposeAll(x, y);
    });
  });

  describe('mask statistics', () => {
    for (const p of [0.1, 0.5, 0.8]) {
      it(`keeps a fraction 1 - p of 2^20 elements within 5 standard deviations (p = ${p})`, async () => {
        const n = 1 << 20;
        const x = Tensor.full([n], 1, { backend: device() });
        const { output, mask } = dropout(x, p, 0xdecafbadn, 0);
        const values = Array.from(await mask.toArray());
        const kept = values.reduce((count, v) => count + (v !== 0 ? 1 : 0), 0);
        const sigma = Math.sqrt((p * (1 - p)) / n);
        expect(Math.abs(kept / n - (1 - p))).toBeLessThan(5 * sigma);
        // inverted scaling keeps the expected value: the mean of the output is 1 within the same bound
        const mean = Array.from(await output.toArray()).reduce((a, v) => a + v, 0) / n;
        expect(Math.abs(mean - 1)).toBeLessThan((5 * sigma) / (1 - p));
        disposeAll(x, output, mask);
      });
    }
  });

  describeDeviceOnly('against the CPU build (fresh random inputs)', () => {
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
