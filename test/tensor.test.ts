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
