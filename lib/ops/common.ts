/**
 * Helpers shared by the functional ops: argument checks with messages that name the parameter,
 * and wrapping native results as Tensors.
 * @internal
 * @module
 */
import type { Backend } from '../backend/backend';
import type { NativeTensor } from '../backend/native';
import { callNative } from '../errors';
import { checkTensor, describe, Tensor } from '../tensor';

/**
 * Checks that every named argument is a live Tensor on one backend, and returns that backend.
 * Those in `optional` (a bias) may also be null or undefined.
 */
export function sameBackend(op: string, tensors: Record<string, unknown>, optional: Record<string, unknown> = {}): Backend {
  let backend: Backend | undefined;
  let first = '';
  const all = Object.entries(tensors).concat(Object.entries(optional).filter(([, v]) => v !== null && v !== undefined));
  for (const [name, value] of all) {
    const t = checkTensor(value, `${op}: ${name}`);
    if (!backend) {
      backend = t.backend;
      first = name;
    } else if (t.backend !== backend) {
      throw new TypeError(`${op}: ${name} is on the ${t.backend.kind} backend but ${first} is on ${backend.kind}`);
    }
  }
  if (!backend) throw new TypeError(`${op}: no tensor given`);
  return backend;
}

export function wrap(backend: Backend, handle: NativeTensor): Tensor;
export function wrap(backend: Backend, handle: NativeTensor | null): Tensor | null;
export function wrap(backend: Backend, handle: NativeTensor | null): Tensor | null {
  return handle === null ? null : new Tensor(backend, handle);
}

export function native<T>(fn: () => T): T {
  return callNative(fn);
}

/** A positive integer, or a TypeError / RangeError naming it. */
export function positiveInt(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${name} must be a positive integer, got ${describe(value)}`);
  }
  if (value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

/** A non-negative integer, or a TypeError / RangeError naming it. */
export function nonNegativeInt(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${name} must be a non-negative integer, got ${describe(value)}`);
  }
  if (value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  return value;
}

/** A finite number in [min, max) (or [min, max] when `inclusiveMax`). */
export function numberIn(value: unknown, name: string, min: number, max: number, inclusiveMax = false): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  const ok = value >= min && (inclusiveMax ? value <= max : value < max);
  if (!ok || Number.isNaN(value)) {
    throw new RangeError(`${name} must be in [${min}, ${max}${inclusiveMax ? ']' : ')'}, got ${describe(value)}`);
  }
  return value;
}

/** A pair of positive integers from a number or a two-element array. */
export function pairOf(value: unknown, name: string, check: (v: unknown, n: string) => number): [number, number] {
  if (Array.isArray(value)) {
    if (value.length !== 2) throw new RangeError(`${name} must be a number or [height, width], got ${describe(value)}`);
    return [check(value[0], `${name}[0]`), check(value[1], `${name}[1]`)];
  }
  const v = check(value, name);
  return [v, v];
}
