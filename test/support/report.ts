/**
 * Checks that are recorded as well as asserted, so that one run of the GPU suite yields a table of
 * the worst error per op (printed at the end by globalSetup.ts, and written as JSON to the path in
 * ALEXNET_GPU_REPORT). In the CPU suite no report folder is provided (it has no globalSetup), so
 * recording does nothing and the checks are plain assertions.
 *
 * Each check measures with compareArrays (test/helpers.ts: relative error against
 * max(|expected|, RMS of expected)), appends a record for the summary, and asserts with
 * expect.soft: a failing check marks its test failed but lets the test go on, so that every
 * comparison of a run is measured and reported, not only the first that fails.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

import { expect, inject } from 'vitest';

import type { SafetensorsTensor } from '../../lib/io/safetensors';
import type { Tensor } from '../../lib/tensor';
import { compareArrays, normwiseError } from '../helpers';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Folder where every test process appends its records (see globalSetup.ts). */
    gpuReportDir: string;
  }
}

/** One check, as the summary table and the JSON report show it. */
export interface CheckRecord {
  /** What was compared, e.g. 'conv2d k11_s4_pad2 dw'. */
  name: string;
  /** The summary table's row: one op (or test), one reference, one math mode. */
  group: string;
  /**
   * The worst relative error (compareArrays' measure), or with `measure: 'normwise'` the relative
   * error of the whole tensor, |actual - expected|₂ / |expected|₂; null for a check that is not a comparison.
   */
  maxRelativeError: number | null;
  measure?: 'normwise';
  /** A relative tolerance, or how the check judges ('bitwise', 'exact', 'no growth', ...). */
  tolerance: number | string;
  pass: boolean;
  /** On failure (or for a check that is not a comparison), what happened. */
  detail?: string;
}

/** A line of the records file. */
export type ReportLine =
  | ({ type: 'check'; file: string } & CheckRecord)
  | { type: 'skip'; file: string; title: string; reason: string }
  | { type: 'info'; file: string; key: string; value: unknown };

function recordsFile(): string | null {
  const dir = inject('gpuReportDir') as string | undefined;
  return dir ? join(dir, 'records.jsonl') : null;
}

function testFile(): string {
  return expect.getState().testPath ?? '';
}

function append(line: ReportLine): void {
  const file = recordsFile();
  // One short line per append: the test files run one after another (fileParallelism: false).
  if (file) appendFileSync(file, JSON.stringify(line) + '\n');
}

/** Notes that a describe block was skipped, and why (printed once in the summary). */
export function recordSkip(title: string, reason: string): void {
  const file = recordsFile();
  if (file) appendFileSync(file, JSON.stringify({ type: 'skip', file: '', title, reason } satisfies ReportLine) + '\n');
}

/** Adds a fact to the report (the device's name and library versions, a rehearsal flag). */
export function recordInfo(key: string, value: unknown): void {
  append({ type: 'info', file: testFile(), key, value });
}

function record(check: CheckRecord): void {
  append({ type: 'check', file: testFile(), ...check });
}

/** Worst relative error of actual against expected, with compareArrays' element-count check. */
function measure(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>): { maxError: number; worst: number } {
  return compareArrays(name, actual, expected, Infinity);
}

function describeWorst(actual: ArrayLike<number>, expected: ArrayLike<number>, worst: number, count: number): string {
  return `worst at element ${worst} of ${count}: got ${actual[worst]}, expected ${expected[worst]}`;
}

/**
 * Compares values within a relative tolerance (0 demands equal values). Records the result and
 * asserts softly. Returns the worst relative error.
 */
export function checkClose(group: string, name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): number {
  const { maxError, worst } = measure(name, actual, expected);
  const pass = maxError <= tolerance;
  const detail = pass
    ? undefined
    : `${name}: max relative error ${maxError.toExponential(3)} > ${tolerance}; ${describeWorst(actual, expected, worst, expected.length)}`;
  record({ name, group, maxRelativeError: maxError, tolerance, pass, detail });
  expect.soft(maxError, detail ?? name).toBeLessThanOrEqual(tolerance);
  return maxError;
}

function bits(values: Float32Array | Int32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

/**
 * Compares whole tensors: |actual - expected|₂ / |expected|₂ within `tolerance`. For results where a
 * few elements may legitimately differ a lot (see presets.test.ts), recorded with `measure: 'normwise'`.
 */
export function checkNormwise(
  group: string,
  name: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
): number {
  expect(actual.length, `${name}: element count`).toBe(expected.length);
  const error = normwiseError(actual, expected);
  const pass = error <= tolerance; // false for NaN
  const detail = pass ? undefined : `${name}: normwise relative error ${error.toExponential(3)} > ${tolerance}`;
  record({ name, group, maxRelativeError: error, measure: 'normwise', tolerance, pass, detail });
  expect.soft(pass, detail ?? name).toBe(true);
  return error;
}

/** Demands the same bits in every element (dropout masks, uniform fills). */
export function checkBitwise(group: string, name: string, actual: Float32Array | Int32Array, expected: Float32Array | Int32Array): void {
  const { maxError } = measure(name, actual, expected);
  const a = bits(actual);
  const e = bits(expected);
  let mismatches = 0;
  let first = -1;
  for (let i = 0; i < e.length; i++) {
    if (a[i] !== e[i]) {
      if (first < 0) first = i;
      mismatches++;
    }
  }
  const pass = mismatches === 0;
  const detail = pass
    ? undefined
    : `${name}: ${mismatches} of ${e.length} elements differ in their bits; first at ${first}: got ${actual[first]}, expected ${expected[first]}`;
  record({ name, group, maxRelativeError: maxError, tolerance: 'bitwise', pass, detail });
  expect.soft(mismatches, detail ?? name).toBe(0);
}

/**
 * A check judged by the caller (memory growth, an error's class, a loss curve): recorded with what
 * was measured, if anything, and asserted.
 */
export function checkThat(
  group: string,
  name: string,
  pass: boolean,
  detail: string,
  { measured = null, tolerance = 'as stated' }: { measured?: number | null; tolerance?: number | string } = {},
): void {
  record({ name, group, maxRelativeError: measured, tolerance, pass, detail });
  expect.soft(pass, `${name}: ${detail}`).toBe(true);
}

/** Something with a shape and values to compare against: a tensor, a fixture tensor, or plain values. */
export type Expected = Tensor | SafetensorsTensor | { shape: readonly number[]; data: ArrayLike<number> };

async function valuesOf(expected: Expected): Promise<{ shape: readonly number[]; data: ArrayLike<number> }> {
  if ('toArray' in expected) return { shape: expected.shape, data: await expected.toArray() };
  return { shape: expected.shape, data: expected.data as ArrayLike<number> };
}

/**
 * Downloads `actual` and compares it (shape, then values within `tolerance`, or bit for bit when
 * `tolerance` is 'bitwise') with `expected`. Returns the downloaded values.
 */
export async function checkTensor(
  group: string,
  name: string,
  actual: Tensor,
  expected: Expected,
  tolerance: number | 'bitwise',
): Promise<Float32Array | Int32Array> {
  const got = await actual.toArray();
  const want = await valuesOf(expected);
  expect([...actual.shape], `${name}: shape`).toEqual([...want.shape]);
  if (tolerance === 'bitwise') {
    const reference = want.data instanceof Float32Array || want.data instanceof Int32Array ? want.data : Float32Array.from(want.data);
    checkBitwise(group, name, got, reference);
  } else {
    checkClose(group, name, got, want.data, tolerance);
  }
  return got;
}
