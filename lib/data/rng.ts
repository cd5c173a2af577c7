/**
 * A small, fast, seeded generator for the host side of data loading (shuffling, augmentation).
 *
 * Every stream is derived from a seed and stream indices (for example the loader's seed, the epoch
 * and the sample's index), never from a shared running generator. So the augmentation a sample gets
 * does not depend on the order batches are prepared in, on how many worker threads prepare them, or
 * on where a resumed run starts: a checkpoint needs no generator state, only the seed.
 *
 * The generator is xoshiro128** (Blackman and Vigna), 32-bit arithmetic that V8 compiles to plain
 * integer instructions; its state is seeded from SplitMix64 ({@link deriveSeed}).
 * @module
 */
import { deriveSeed } from '../random';
import type { Seed } from '../tensor';

const TWO_POW_32 = 4294967296;

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A seeded random stream. Not cryptographic. */
export class Rng {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;
  #spareNormal: number | null = null;

  /** A stream for `seed` and any number of stream indices (epoch, sample index, ...). */
  constructor(seed: Seed, ...streams: number[]) {
    let z = BigInt(seed);
    for (const s of streams) z = deriveSeed(z, s);
    const a = deriveSeed(z, 0);
    const b = deriveSeed(z, 1);
    this.#s0 = Number(a & 0xffffffffn) | 0;
    this.#s1 = Number(a >> 32n) | 0;
    this.#s2 = Number(b & 0xffffffffn) | 0;
    this.#s3 = Number(b >> 32n) | 0;
    // xoshiro's state must not be all zero; SplitMix64 output makes that practically impossible, but be sure.
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1;
  }

  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.#s1, 5), 7), 9);
    const t = this.#s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result >>> 0;
  }

  /** Uniform in [0, 1), with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform integer in [0, n), without modulo bias (n up to 2^32). */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    }
    // Rejection sampling: draw until the value falls below the largest multiple of n.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const v = this.nextUint32();
      if (v < limit) return v % n;
    }
  }

  /** A normal sample (Box-Muller; the second value of each pair is kept for the next call). */
  normal(mean = 0, std = 1): number {
    if (this.#spareNormal !== null) {
      const v = this.#spareNormal;
      this.#spareNormal = null;
      return mean + std * v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spareNormal = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  /** Shuffles `array` in place (Fisher-Yates) and returns it. */
  shuffle<T extends unknown[] | Int32Array | Uint32Array>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }
}

/** A random permutation of 0..n-1 from `seed` and stream indices. */
export function permutation(n: number, seed: Seed, ...streams: number[]): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return new Rng(seed, ...streams).shuffle(order);
}
