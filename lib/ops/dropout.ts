/**
 * Inverted dropout: in training, each element is kept with probability 1 - p and scaled by
 * 1 / (1 - p); the mask comes from the seeded counter-based generator, so a (seed, offset) pair
 * gives the same mask on every backend.
 * @module
 */
import { Tensor, type Seed } from '../tensor';
import { native, sameBackend, wrap } from './common';
import { numberIn } from '../validate';

/** Returns the output and the mask (0 or 1 / (1 - p)); the backward pass is gradOutput * mask. */
export function dropout(
  input: Tensor,
  p: number,
  seed: Seed,
  offset: Seed = 0,
): {
  /** input * mask, shaped like `input`; the caller disposes it. */
  output: Tensor;
  /** 0 where dropped, 1 / (1 - p) where kept, shaped like `input`; the caller disposes it. */
  mask: Tensor;
} {
  const backend = sameBackend('dropout', { input });
  numberIn(p, 'p', 0, 1);
  const [y, mask] = native(() => backend.native.dropoutForward(input.handle, p, seed, offset));
  return { output: wrap(backend, y), mask: wrap(backend, mask) };
}

/** Elementwise product (dropout's backward: gradOutput * mask). */
export function multiply(a: Tensor, b: Tensor): Tensor {
  const backend = sameBackend('multiply', { a, b });
  return wrap(backend, native(() => backend.native.multiply(a.handle, b.handle)));
}
