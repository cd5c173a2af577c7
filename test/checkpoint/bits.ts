/**
 * Bitwise comparison of float arrays. vitest's deep equality walks typed arrays element by element
 * through its generic matcher, which takes minutes for a model's worth of parameters; this compares
 * the bytes and names the first difference.
 */
import { expect } from 'vitest';

/** Index of the first element whose bits differ, or -1. */
export function firstDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

/** Asserts two named sets of arrays are bit-identical. */
export function expectSameBits(actual: Map<string, Float32Array>, expected: Map<string, Float32Array>, what = 'tensors'): void {
  expect([...actual.keys()], `${what}: names`).toEqual([...expected.keys()]);
  for (const [name, e] of expected) {
    const a = actual.get(name)!;
    const at = firstDifference(a, e);
    expect(at, `${what}: ${name} differs at element ${at} (${a[at]} vs ${e[at]}; lengths ${a.length}, ${e.length})`).toBe(-1);
  }
}
