import { describe, expect, it } from 'vitest';

import { Tensor } from '../lib/tensor';

describe('Tensor uploads', () => {
  it('take typed arrays over a SharedArrayBuffer, at an offset (as worker threads hand them over)', async () => {
    const shared = new Float32Array(new SharedArrayBuffer(6 * 4));
    shared.set([1, 2, 3, 4, 5, 6]);
    const whole = Tensor.fromArray(shared, [2, 3], { backend: 'cpu' });
    const part = Tensor.fromArray(new Float32Array(shared.buffer, 8, 3), [3], { backend: 'cpu' });
    expect(Array.from(await whole.toArray())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(await part.toArray())).toEqual([3, 4, 5]);
    whole.dispose();
    part.dispose();
  });
});

describe('Tensor.toNested', () => {
  it('nests the values by shape, row-major, for every rank from 0 to 4 and for empty dimensions', async () => {
    const values = Array.from({ length: 24 }, (_, i) => i * 0.5 - 3);
    const cases: [number[], unknown][] = [
      [[], 7.5],
      [[3], [1, 2, 3]],
      [
        [2, 3],
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
      ],
      [
        [2, 1, 3],
        [[[1, 2, 3]], [[4, 5, 6]]],
      ],
      [[0, 3], []],
      [
        [2, 0],
        [[], []],
      ],
    ];
    for (const [shape, expected] of cases) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = shape.length === 0 ? [7.5] : Array.from({ length: n }, (_, i) => i + 1);
      const t = Tensor.fromArray(data, shape, { backend: 'cpu' });
      expect(await t.toNested(), `shape [${shape.join(', ')}]`).toEqual(expected);
      t.dispose();
    }
    const four = Tensor.fromArray(values, [2, 3, 2, 2], { backend: 'cpu' });
    const nested = await four.toNested(4);
    expect(nested[1][2][0][1]).toBe(values[1 * 12 + 2 * 4 + 0 * 2 + 1]);
    expect(nested.flat(3)).toEqual(values);
    four.dispose();
  });

  it('keeps float32 values exactly and int32 labels as integers', async () => {
    const f = new Float32Array([0.1, -1e-30, 3.4e38, 1 / 3]);
    const logits = Tensor.fromArray(f, [2, 2], { backend: 'cpu' });
    const rows: number[][] = await logits.toNested(2);
    expect(rows).toEqual([
      [f[0], f[1]],
      [f[2], f[3]],
    ]);
    const labels = Tensor.fromArray(new Int32Array([-5, 2147483647, 0]), [3], { backend: 'cpu' });
    const ints: number[] = await labels.toNested(1);
    expect(ints).toEqual([-5, 2147483647, 0]);
    logits.dispose();
    labels.dispose();
  });

  it("rejects a rank other than the tensor's, naming both", async () => {
    const t = Tensor.zeros([2, 3], { backend: 'cpu' });
    await expect(t.toNested(3)).rejects.toThrow(/^toNested: expected a tensor of rank 3, got shape \[2, 3\]$/);
    await expect(t.toNested(-1)).rejects.toThrow(/rank must be a non-negative integer/);
    t.dispose();
    await expect(t.toNested()).rejects.toThrow(/disposed/);
  });
});

describe('Tensor.fromArray types', () => {
  it('types the result as the element type it gets at run time: int32 for an Int32Array, uint8 for a Uint8Array, else float32', async () => {
    const ints: Tensor<'int32'> = Tensor.fromArray(new Int32Array([1, -2]), [2], { backend: 'cpu' });
    const bytes: Tensor<'uint8'> = Tensor.fromArray(new Uint8Array([1, 255]), [2], { backend: 'cpu' });
    const floats: Tensor<'float32'> = Tensor.fromArray([0.5, 2], [2], { backend: 'cpu' });
    const converted: Tensor<'float32'> = Tensor.fromArray(new Int32Array([3, 4]), [2], { backend: 'cpu', dtype: 'float32' });
    expect([ints.dtype, bytes.dtype, floats.dtype, converted.dtype]).toEqual(['int32', 'uint8', 'float32', 'float32']);
    const read: [Int32Array, Uint8Array, Float32Array, Float32Array] = [
      await ints.toArray(),
      await bytes.toArray(),
      await floats.toArray(),
      await converted.toArray(),
    ];
    expect(read.map((a) => a.constructor.name)).toEqual(['Int32Array', 'Uint8Array', 'Float32Array', 'Float32Array']);
    for (const t of [ints, bytes, floats, converted]) t.dispose();
  });
});
