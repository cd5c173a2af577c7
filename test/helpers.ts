/**
 * Test helpers: comparing tensors with a stated tolerance (printing the worst element, as llm.c's
 * check_tensor does), and reading optional prerequisites that CI requires.
 */
import { expect } from 'vitest';

/**
 * Relative error of element i: |actual - expected| / max(|expected|, floor), with floor the RMS of
 * `expected`, so that elements near zero are judged against the tensor's scale, not against zero.
 */
export function compareArrays(
  name: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rtol: number,
): { maxError: number; worst: number } {
  expect(actual.length, `${name}: element count`).toBe(expected.length);
  let sumSq = 0;
  for (let i = 0; i < expected.length; i++) sumSq += expected[i]! * expected[i]!;
  const floor = Math.max(Math.sqrt(sumSq / Math.max(expected.length, 1)), 1e-12);
  let maxError = 0;
  let worst = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const err = Number.isNaN(a) !== Number.isNaN(e) ? Infinity : Number.isNaN(e) ? 0 : Math.abs(a - e) / Math.max(Math.abs(e), floor);
    if (err > maxError || worst < 0) {
      if (err > maxError) maxError = err;
      if (err >= maxError) worst = i;
    }
  }
  if (maxError > rtol) {
    throw new Error(
      `${name}: max relative error ${maxError.toExponential(3)} > ${rtol} at element ${worst}: ` +
        `got ${actual[worst]}, expected ${expected[worst]} (scale ${floor.toExponential(3)}, ${expected.length} elements)`,
    );
  }
  return { maxError, worst };
}

/** True when CI demands every optional prerequisite (torch, the CUDA build, the dataset). */
export const ciRequiresEverything = process.env.ALEXNET_CI === '1';
