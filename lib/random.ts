/**
 * Seeds. Every random draw in alexnet-cuda (initial weights, dropout masks, shuffling, augmentation)
 * comes from an explicit seed, so a run is reproducible on every backend. Layers built without a
 * seed take the next one from a process-wide counter that starts at a fixed value.
 * @module
 */
import { describe, type Seed } from './tensor';

let counter = 0x5eedn;

/** The next seed from the process-wide counter. */
export function nextSeed(): bigint {
  counter = (counter + 1n) & ((1n << 64n) - 1n);
  return counter;
}

/** Restarts the process-wide counter (tests use it to build identical models twice). */
export function resetSeedCounter(value: Seed = 0x5eed): void {
  counter = BigInt(value);
}

/** A seed derived from a base seed and a stream index (SplitMix64), for per-parameter streams. */
export function deriveSeed(base: Seed, stream: number): bigint {
  let z = (BigInt(base) + 0x9e3779b97f4a7c15n * BigInt(stream + 1)) & 0xffffffffffffffffn;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
  return z ^ (z >> 31n);
}

/** Checks a seed (a non-negative integer below 2^64, as a number or a bigint) and returns it as a bigint. */
export function checkSeed(value: unknown, name: string): bigint {
  if (typeof value === 'bigint') {
    if (value < 0n || value >= 1n << 64n) throw new RangeError(`${name} must be an integer in [0, 2^64), got ${value}`);
    return value;
  }
  if (typeof value !== 'number') throw new TypeError(`${name} must be a non-negative integer or a bigint, got ${describe(value)}`);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer (or a bigint), got ${describe(value)}`);
  }
  return BigInt(value);
}
