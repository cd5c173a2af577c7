/**
 * Fills, the seeded generators and transfers on the backend under test (test/support/device.ts);
 * the native code is elementwise.cc / elementwise.cu.
 *
 * The same seed must give the same values on every backend: Tensor.uniform draws the shared Philox
 * stream bit for bit (integer arithmetic on Philox words and one exact scaling), Tensor.normal its
 * Box-Muller transform within 1e-5 relative (log, sqrt and cos in float32 may round differently),
 * with TensorFlow-style truncation redrawing from the same stream; deriveSeed is SplitMix64. Every
 * initializer of the AlexNet presets draws through these, so whole models are compared as well.
 * Uploads, downloads, copies and views must move bits unchanged.
 *
 * - Against the reference Philox stream: test/reference/fixtures/ops/random.
 * - Against the CPU build, in the GPU suite only: sizes that no vector width divides, 64-bit
 *   seeds, every init scheme, transfers and copies.
 */
import { describe, expect, it } from 'vitest';

import { createAlexNet } from '../../lib/models/alexnet';
import { INIT_SCHEMES } from '../../lib/models/init';
import { addScaled, copyInto } from '../../lib/ops/index';
import { deriveSeed } from '../../lib/random';
import { Tensor } from '../../lib/tensor';
import { FP32_RTOL, loadFixture } from '../helpers';
import { cpu, describeDeviceOnly, describeOnDevice, device } from '../support/device';
import { checkTensor } from '../support/report';
import { disposeAll, disposePairs, pairFrom, randomPair } from '../support/tensors';

const NORMAL_RTOL = 1e-5;
const SIZES = [[1], [1001], [3, 5, 7], [1 << 20]];
const SEEDS = [0n, 5n, 0x5eedn, (1n << 64n) - 3n];

const fixture = loadFixture('ops/random');

describeOnDevice('fills, seeded generators and transfers', () => {
  describe('against the reference Philox stream (fixtures)', () => {
    for (const name of ['uniform_small_seed', 'uniform_big_seed']) {
      it(`${name}: Tensor.uniform in [0, 1) bit for bit`, async () => {
        const c = fixture.cases.find((k) => k.name === name)!;
        const expected = fixture.get(`${name}.values`);
        const t = Tensor.uniform(expected.shape, { low: 0, high: 1, seed: BigInt(c.seed as string) }, { backend: device() });
        await checkTensor('uniform fill vs reference', name, t, expected, 'bitwise');
        t.dispose();
      });
    }

    it('Tensor.normal: Box-Muller over the same stream (float32 log and cos, so within 1e-5)', async () => {
      const c = fixture.cases.find((k) => k.name === 'normal')!;
      const expected = fixture.get('normal.values');
      const t = Tensor.normal(
        expected.shape,
        { mean: c.mean as number, std: c.std as number, seed: BigInt(c.seed as string) },
        { backend: device() },
      );
      await checkTensor('normal fill vs reference', 'normal', t, expected, NORMAL_RTOL);
      t.dispose();
    });

    it('Tensor.normal with truncation 2 (TensorFlow truncated_normal): redraws from the same stream, within 1e-5', async () => {
      const dev = device();
      const c = fixture.cases.find((k) => k.name === 'truncated_normal')!;
      const expected = fixture.get('truncated_normal.values');
      const options = { mean: c.mean as number, std: c.std as number, seed: BigInt(c.seed as string) };
      const t = Tensor.normal(expected.shape, { ...options, truncation: 2 }, { backend: dev });
      const values = (await checkTensor('normal fill vs reference', 'truncated normal', t, expected, NORMAL_RTOL)) as Float32Array;
      // Every value within two standard deviations; the script saw some draws that needed a redraw.
      expect(c.redrawn as number).toBeGreaterThan(40);
      for (const v of values) expect(Math.abs(v - options.mean)).toBeLessThanOrEqual(2 * options.std * (1 + 1e-6));
      // Where no redraw was needed, the value is the untruncated draw of the same seed.
      const plain = Tensor.normal(expected.shape, options, { backend: dev });
      const plainValues = await plain.toArray();
      let same = 0;
      for (let i = 0; i < values.length; i++) if (values[i] === plainValues[i]) same++;
      expect(same).toBe(values.length - (c.redrawn as number));
      disposeAll(t, plain);
    });

    it('Tensor.normal rejects a negative or non-finite truncation by name', () => {
      const backend = device();
      expect(() => Tensor.normal([2], { seed: 1, truncation: -1 }, { backend })).toThrow(/truncation must be non-negative/);
      expect(() => Tensor.normal([2], { seed: 1, truncation: Number.NaN }, { backend })).toThrow(/truncation must be finite/);
    });

    it('deriveSeed is SplitMix64 of base + 0x9e3779b97f4a7c15 * (stream + 1), as the script computes it', () => {
      const table = JSON.parse(fixture.metadata.derive_seed) as [string, number, string][];
      expect(table.length).toBeGreaterThan(0);
      for (const [base, stream, expected] of table) expect(deriveSeed(BigInt(base), stream).toString()).toBe(expected);
    });
  });

  describeDeviceOnly('against the CPU build', () => {
    it('Tensor.full and Tensor.zeros', async () => {
      for (const shape of SIZES) {
        for (const value of [0, -2.5, 3.0e38, 1e-40]) {
          const expected = Tensor.full(shape, value, { backend: cpu() });
          const got = Tensor.full(shape, value, { backend: device() });
          await checkTensor('full / zeros vs CPU', `full [${shape.join(', ')}] with ${value}`, got, expected, 'bitwise');
          disposeAll(expected, got);
        }
      }
      const zeros = Tensor.zeros([4097], { backend: device() });
      await checkTensor('full / zeros vs CPU', 'zeros [4097]', zeros, { shape: [4097], data: new Float32Array(4097) }, 'bitwise');
      zeros.dispose();
    });

    it('Tensor.uniform: same seed, same bits', async () => {
      for (const shape of SIZES) {
        for (const seed of SEEDS) {
          for (const [low, high] of [
            [0, 1],
            [-0.05, 0.05],
          ] as const) {
            const expected = Tensor.uniform(shape, { low, high, seed }, { backend: cpu() });
            const got = Tensor.uniform(shape, { low, high, seed }, { backend: device() });
            await checkTensor(
              'uniform fill vs CPU',
              `uniform [${shape.join(', ')}] in [${low}, ${high}) seed ${seed}`,
              got,
              expected,
              'bitwise',
            );
            disposeAll(expected, got);
          }
        }
      }
    });

    it('Tensor.normal: same seed, values within 1e-5', async () => {
      for (const shape of SIZES) {
        for (const seed of SEEDS) {
          const options = { mean: 0.5, std: 2, seed };
          const expected = Tensor.normal(shape, options, { backend: cpu() });
          const got = Tensor.normal(shape, options, { backend: device() });
          await checkTensor('normal fill vs CPU', `normal [${shape.join(', ')}] seed ${seed}`, got, expected, NORMAL_RTOL);
          disposeAll(expected, got);
        }
      }
    });

    for (const init of INIT_SCHEMES) {
      it(`every parameter of the paper and torchvision presets (width 0.25) under init '${init}'`, async () => {
        for (const preset of ['paper', 'torchvision'] as const) {
          const options = { preset, init, width: 0.25, seed: 77 };
          const onCpu = createAlexNet({ ...options, backend: cpu() });
          const onDev = createAlexNet({ ...options, backend: device() });
          const reference = new Map(onCpu.namedParameters());
          for (const [name, p] of onDev.namedParameters()) {
            // Uniform draws and constants are exact; normal draws (paper, kaiming weights) within 1e-5.
            const normal = name.endsWith('weight') && (init === 'paper' || init === 'kaiming');
            await checkTensor(
              `init '${init}' vs CPU`,
              `${preset} ${name}`,
              p.value,
              reference.get(name)!.value,
              normal ? NORMAL_RTOL : 'bitwise',
            );
          }
          onCpu.dispose();
          onDev.dispose();
        }
      });
    }

    it('uploads and downloads float32 and int32 unchanged, including NaN, infinities, -0 and subnormals', async () => {
      const dev = device();
      const special = Float32Array.from([NaN, Infinity, -Infinity, -0, 1e-45, -1e-40, 3.4028234663852886e38, 1]);
      const floats = Tensor.fromArray(special, [special.length], { backend: dev });
      await checkTensor(
        'transfers and copies',
        'float32 round trip (special values)',
        floats,
        { shape: [special.length], data: special },
        'bitwise',
      );
      const ints = Int32Array.from([0, -1, 2147483647, -2147483648, 7, 42, 1000, -999]);
      const intTensor = Tensor.fromArray(ints, [2, 4], { backend: dev, dtype: 'int32' });
      await checkTensor('transfers and copies', 'int32 round trip', intTensor, { shape: [2, 4], data: ints }, 'bitwise');
      const large = await randomPair([3, 1 << 20], 9900, dev);
      await checkTensor(
        'transfers and copies',
        'float32 round trip (3 Mi elements)',
        large.dev,
        { shape: [3, 1 << 20], data: large.values },
        'bitwise',
      );
      disposeAll(floats, intTensor);
      disposePairs(large);
    });

    it('clone, copyInto, reshape views and Tensor.to move bits unchanged; addScaled as on the CPU', async () => {
      const dev = device();
      const a = await randomPair([257, 33], 9901, dev);
      const b = await randomPair([257, 33], 9902, dev);
      const clone = a.dev.clone();
      const view = clone.reshape([33, -1]);
      await checkTensor('transfers and copies', 'clone', clone, a.cpu, 'bitwise');
      await checkTensor('transfers and copies', 'reshape view', view, { shape: [33, 257], data: a.values }, 'bitwise');
      const target = Tensor.zeros([257 * 33], { backend: dev });
      copyInto(target, a.dev);
      await checkTensor('transfers and copies', 'copyInto', target, { shape: [257 * 33], data: a.values }, 'bitwise');
      const back = await a.dev.to(cpu());
      await checkTensor('transfers and copies', 'Tensor.to(cpu)', back, a.cpu, 'bitwise');
      addScaled(a.cpu, b.cpu, -0.37);
      addScaled(a.dev, b.dev, -0.37);
      await checkTensor('addScaled vs CPU', 'addScaled(a, b, -0.37)', a.dev, a.cpu, FP32_RTOL);
      const pairs = pairFrom(Int32Array.from([1, 2, 3]), [3], dev);
      await checkTensor('transfers and copies', 'int32 clone', pairs.dev.clone(), pairs.cpu, 'bitwise');
      disposePairs(a, b, pairs);
      disposeAll(clone, view, target, back);
    });
  });
});
