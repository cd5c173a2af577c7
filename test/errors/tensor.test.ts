/**
 * Bad input to Tensor's factories and methods (shapes, dtypes, data, seeds) and use after dispose:
 * TypeError or RangeError naming the parameter, and the backend keeps working.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { relu } from '../../lib/ops/index';
import { Tensor } from '../../lib/tensor';
import { expectBackendWorks, expectBadInput } from '../helpers';

const cpu = { backend: 'cpu' } as const;
const bad = <T>(value: unknown) => value as T;
type Case = [description: string, fn: () => unknown, kind: typeof TypeError | typeof RangeError, names: RegExp];

const x = Tensor.zeros([2, 3, 4], cpu);

const cases: Record<string, Case[]> = {
  'Tensor.fromArray': [
    ['data a string', () => Tensor.fromArray(bad('abc')), TypeError, /data must be an array or typed array of numbers/],
    ['data null', () => Tensor.fromArray(bad(null)), TypeError, /data must be an array/],
    ['data with a string element', () => Tensor.fromArray(bad(['a', 'b']), [2], cpu), TypeError, /data\[0\] must be a number/],
    [
      'more data than the shape holds',
      () => Tensor.fromArray([1, 2, 3], [2, 2], cpu),
      RangeError,
      /data has 3 elements, shape \[2, 2\] needs 4/,
    ],
    ['a NaN size', () => Tensor.fromArray([1, 2], [2, NaN], cpu), TypeError, /shape\[1\] must be an integer, got NaN/],
    ['a negative size', () => Tensor.fromArray([1, 2], [-2], cpu), RangeError, /shape\[0\] must be non-negative/],
    ['shape a string', () => Tensor.fromArray([1, 2], bad('ab'), cpu), TypeError, /shape must be an array of integers/],
    [
      'a fraction for an int32 tensor',
      () => Tensor.fromArray([1.5], [1], { backend: 'cpu', dtype: 'int32' }),
      RangeError,
      /data\[0\] must be a 32-bit integer/,
    ],
    [
      'an unknown dtype',
      () => Tensor.fromArray([1], [1], { backend: 'cpu', dtype: bad('float16') }),
      TypeError,
      /dtype must be 'float32', 'int32' or 'uint8'/,
    ],
    ['an unknown backend', () => Tensor.fromArray([1], [1], { backend: bad('tpu') }), TypeError, /backend must be 'auto', 'cpu' or 'cuda'/],
  ],
  'Tensor.empty / full / uniform / normal': [
    ['shape a string', () => Tensor.empty(bad('3'), cpu), TypeError, /shape must be an array of integers/],
    ['a fractional size', () => Tensor.empty([2.5], cpu), TypeError, /shape\[0\] must be an integer, got 2.5/],
    ['a negative size', () => Tensor.empty([-1], cpu), RangeError, /shape\[0\] must be non-negative/],
    ['an infinite size', () => Tensor.empty([Infinity], cpu), TypeError, /shape\[0\] must be an integer/],
    ['more than 2^40 elements', () => Tensor.empty([1e9, 1e9], cpu), RangeError, /shape describes more than 2\^40 elements/],
    ['full with NaN', () => Tensor.full([2], NaN, cpu), RangeError, /value must be finite/],
    ['uniform with a negative seed', () => Tensor.uniform([2], { seed: -1 }, cpu), RangeError, /seed must be a non-negative safe integer/],
    ['uniform without a seed', () => Tensor.uniform([2], bad({}), cpu), TypeError, /seed must be/],
    [
      'uniform with high < low',
      () => Tensor.uniform([2], { seed: 1, low: 1, high: 0 }, cpu),
      RangeError,
      /high \(0\) must be at least low \(1\)/,
    ],
    ['normal with a negative std', () => Tensor.normal([2], { seed: 1, std: -1 }, cpu), RangeError, /std must be non-negative/],
  ],
  'Tensor.reshape': [
    ['another element count', () => x.reshape([5]), RangeError, /cannot reshape \[2, 3, 4\] \(24 elements\) into \[5\]/],
    ['shape a string', () => x.reshape(bad('a')), TypeError, /shape must be an array of integers/],
    ['two inferred dimensions', () => x.reshape([-1, -1]), RangeError, /shape\[0\] must be non-negative/],
    ['an inferred dimension beside a zero', () => x.reshape([-1, 0]), RangeError, /cannot reshape/],
    ['a fractional size', () => x.reshape([2.5, 2]), TypeError, /shape\[0\] must be an integer/],
    ['-2', () => x.reshape([-2, 12]), RangeError, /shape\[0\] must be non-negative/],
  ],
};

afterEach(expectBackendWorks);

for (const [what, list] of Object.entries(cases)) {
  describe(`${what}: bad input throws a TypeError or RangeError naming the parameter`, () => {
    it.each(list)('%s', (_description, fn, kind, names) => expectBadInput(fn, kind, names));
  });
}

describe('use after dispose', () => {
  it('reading, reshaping, cloning or computing with a disposed tensor is a TypeError', async () => {
    const t = Tensor.full([4], 2, cpu);
    t.dispose();
    expect(t.disposed).toBe(true);
    await expect(t.toArray()).rejects.toThrow(TypeError);
    await expect(t.toArray()).rejects.toThrow(/disposed/);
    expectBadInput(() => t.reshape([2, 2]), TypeError, /disposed/);
    expectBadInput(() => t.clone(), TypeError, /disposed/);
    expectBadInput(() => t.share(), TypeError, /disposed/);
    expectBadInput(() => relu(t), TypeError, /relu: input has been disposed/);
  });

  it('disposing twice is harmless', async () => {
    const t = Tensor.full([4], 2, cpu);
    t.dispose();
    expect(() => t.dispose()).not.toThrow();
    expect(t.toString()).toMatch(/disposed/);
  });

  it('a view shares the memory and stays valid when the original is disposed', async () => {
    const t = Tensor.fromArray([1, 2, 3, 4], [4], cpu);
    const view = t.reshape([2, 2]);
    t.dispose();
    expect([...(await view.toArray())]).toEqual([1, 2, 3, 4]);
    view.dispose();
  });

  it('disposing an input while its op is queued does not disturb the op', async () => {
    const t = Tensor.fromArray([-1, 5], [2], cpu);
    const y = relu(t);
    t.dispose();
    expect([...(await y.toArray())]).toEqual([0, 5]);
    y.dispose();
  });
});
