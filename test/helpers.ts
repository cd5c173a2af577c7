/**
 * Test helpers: comparing tensors with a stated tolerance (printing the worst element, as llm.c's
 * check_tensor does), and reading optional prerequisites that CI requires.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { expect } from 'vitest';

import { decodeSafetensors, type SafetensorsTensor } from '../lib/io/safetensors';
import { relu } from '../lib/ops/activation';
import { Tensor } from '../lib/tensor';

/**
 * Relative error of element i: |actual - expected| / max(|expected|, floor), with floor the RMS of
 * `expected`'s finite elements, so that elements near zero are judged against the tensor's scale,
 * not against zero. Non-finite expected elements (NaN, ±Infinity) must be matched exactly, and a
 * non-finite actual where a finite value is expected counts as an infinite error.
 */
export function compareArrays(
  name: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rtol: number,
): { maxError: number; worst: number } {
  expect(actual.length, `${name}: element count`).toBe(expected.length);
  let sumSq = 0;
  let finite = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    if (Number.isFinite(e)) {
      sumSq += e * e;
      finite++;
    }
  }
  const floor = Math.max(Math.sqrt(sumSq / Math.max(finite, 1)), 1e-12);
  let maxError = 0;
  let worst = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    let err: number;
    if (!Number.isFinite(e))
      err = Object.is(a, e) ? 0 : Infinity; // Object.is(NaN, NaN) is true
    else if (!Number.isFinite(a)) err = Infinity;
    else err = Math.abs(a - e) / Math.max(Math.abs(e), floor);
    if (worst < 0 || err > maxError) {
      maxError = err;
      worst = i;
    }
  }
  // ALEXNET_REPORT_ERRORS=1 prints every comparison's worst error (the figures quoted in reports).
  if (process.env.ALEXNET_REPORT_ERRORS === '1') console.log(`${name}: max relative error ${maxError.toExponential(2)}`);
  if (maxError > rtol) {
    throw new Error(
      `${name}: max relative error ${maxError.toExponential(3)} > ${rtol} at element ${worst}: ` +
        `got ${actual[worst]}, expected ${expected[worst]} (scale ${floor.toExponential(3)}, ${expected.length} elements)`,
    );
  }
  return { maxError, worst };
}

/** The relative error of a whole tensor: |actual - expected|₂ / |expected|₂ (NaN where either holds one). */
export function normwiseError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length, 'element count').toBe(expected.length);
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    diff += (actual[i] - expected[i]) ** 2;
    norm += expected[i] ** 2;
  }
  return Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-30);
}

/** True when CI demands every optional prerequisite (torch, the CUDA build, the dataset). */
export const ciRequiresEverything = process.env.ALEXNET_CI === '1';

/** The tolerance for fp32 results against the float64 reference (see test/reference/README.md). */
export const FP32_RTOL = 1e-4;

/**
 * The tolerance for results computed in TF32 (the device's math mode 'tf32'): inputs rounded to 10
 * mantissa bits give about 1e-3 in each output, and that is what TF32 mode is for.
 */
export const TF32_RTOL = 1e-2;

/**
 * The tolerance of one op in the bf16 math mode against PyTorch's fp32 op on the same
 * bfloat16-rounded inputs: the op's output is rounded to bfloat16 once (half a bfloat16 ulp, at most
 * 2^-8 = 3.9e-3 relative), and an op that reads an activation rounded by the op before it (LRN's
 * backward reads its rounded output) may add about as much again. Weight and bias gradients, the
 * loss and softmax stay fp32 in that mode and are held to FP32_RTOL.
 */
export const BF16_RTOL = 1e-2;

/** Where test/reference/make_fixtures.py writes its fixtures. */
export const FIXTURES_DIR = join(__dirname, 'reference', 'fixtures');

/** One configuration of a fixture file: its name and whatever settings the script recorded. */
export type FixtureCase = { name: string } & Record<string, unknown>;

/** A fixture file written by test/reference/make_fixtures.py. */
export interface Fixture {
  /** The file's configurations, in the order the script wrote them. */
  cases: FixtureCase[];
  /** The safetensors metadata (the script's hash, torch version, extra tables as JSON). */
  metadata: Record<string, string>;
  /** A stored tensor by its full name ('<case>.<role>'), or an error naming what is missing. */
  get(name: string): SafetensorsTensor;
  /** Whether the file holds a tensor of that name. */
  has(name: string): boolean;
}

/** Reads `fixtures/<name>.safetensors` (e.g. 'ops/conv2d'). */
export function loadFixture(name: string): Fixture {
  const path = join(FIXTURES_DIR, `${name}.safetensors`);
  const file = decodeSafetensors(readFileSync(path), path);
  const cases = JSON.parse(file.metadata.cases ?? '[]') as FixtureCase[];
  return {
    cases,
    metadata: file.metadata,
    get(key: string): SafetensorsTensor {
      const t = file.tensors.get(key);
      if (!t) throw new Error(`${path}: no tensor ${JSON.stringify(key)} (regenerate with npm run fixtures?)`);
      return t;
    },
    has: (key: string) => file.tensors.has(key),
  };
}

/** Uploads a fixture tensor to the CPU backend (float32, or int32 for labels). */
export function cpuTensor(t: SafetensorsTensor): Tensor {
  if (t.dtype === 'F32') return Tensor.fromArray(t.data as Float32Array, t.shape, { backend: 'cpu' });
  if (t.dtype === 'I32') return Tensor.fromArray(t.data as Int32Array, t.shape, { backend: 'cpu', dtype: 'int32' });
  throw new Error(`cpuTensor: fixture tensors are F32 or I32, got ${t.dtype}`);
}

/**
 * Checks a tensor's shape and values against a fixture tensor (or plain values) with
 * {@link compareArrays}, disposing the tensor afterwards.
 */
export async function expectTensorClose(
  name: string,
  actual: Tensor,
  expected: SafetensorsTensor | { shape: readonly number[]; data: ArrayLike<number> },
  rtol = FP32_RTOL,
): Promise<{ maxError: number; worst: number }> {
  try {
    expect([...actual.shape], `${name}: shape`).toEqual([...expected.shape]);
    return compareArrays(name, await actual.toArray(), expected.data as ArrayLike<number>, rtol);
  } finally {
    actual.dispose();
  }
}

/**
 * Expects `fn` to throw `kind` (TypeError or RangeError, not a subclass of the other) with a message
 * that matches `names` (the parameter it must name, and what was expected where useful).
 */
export function expectBadInput(fn: () => unknown, kind: typeof TypeError | typeof RangeError, names: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'expected a throw').toBeDefined();
  expect(thrown, `expected a ${kind.name}, got ${String(thrown)}`).toBeInstanceOf(kind);
  expect((thrown as Error).constructor, `expected exactly a ${kind.name}, got ${String(thrown)}`).toBe(kind);
  expect((thrown as Error).message).toMatch(names);
}

/** Runs a small valid op on the CPU backend and checks its values: the process survived the bad input before it. */
export async function expectBackendWorks(): Promise<void> {
  const x = Tensor.fromArray([-1, 2, -3, 4], [2, 2], { backend: 'cpu' });
  const y = relu(x);
  expect([...(await y.toArray())]).toEqual([0, 2, 0, 4]);
  x.dispose();
  y.dispose();
}
