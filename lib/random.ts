/**
 * Seeds. Every random draw in alexnet-cuda (initial weights, dropout masks, shuffling, augmentation)
 * comes from an explicit seed, so a run is reproducible on every backend. Layers built without a
 * seed take the next one from a process-wide counter that starts at a fixed value.
 * @module
 */
import { type Seed } from './tensor';

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
