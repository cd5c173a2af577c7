/**
 * Inverted dropout: in training, each element is kept with probability 1 - p and scaled by
 * 1 / (1 - p); the mask comes from the seeded counter-based generator, so a (seed, offset) pair
 * gives the same mask on every backend.
 * @module
 */
import { Tensor, type Seed } from '../tensor';
import { bfloat16Output } from './bfloat16';
import { native, sameBackend, wrap } from './common';
import { dropoutScalarWords } from './stepScalars';
import { describe, numberIn } from '../validate';

/** A seed or offset as the native ops take them: a non-negative integer or a bigint below 2^64. */
function counterArg(value: unknown, name: string): bigint {
  if (typeof value === 'bigint') {
    if (value < 0n) throw new RangeError(`dropout: ${name} must be non-negative, got ${value}`);
    if (value >= 1n << 64n) throw new RangeError(`dropout: ${name} must fit in 64 unsigned bits, got ${value}`);
    return value;
  }
  if (typeof value !== 'number') throw new TypeError(`dropout: ${name} must be a number or a bigint, got ${describe(value)}`);
  if (!Number.isInteger(value) || !Number.isSafeInteger(value)) throw new RangeError(`dropout: ${name} must be an integer, got ${value}`);
  if (value < 0) throw new RangeError(`dropout: ${name} must be non-negative, got ${value}`);
  return BigInt(value);
}

/** Returns the output and the mask (0 or 1 / (1 - p)); the backward pass is gradOutput * mask. */
export function dropout(
  input: Tensor,
  p: number,
  seed: Seed,
  offset: Seed = 0,
): {
  /** input * mask, shaped like `input`; the caller disposes it. */
  output: Tensor<'float32'>;
  /** 0 where dropped, 1 / (1 - p) where kept, shaped like `input`; the caller disposes it. */
  mask: Tensor<'float32'>;
} {
  const backend = sameBackend('dropout', { input });
  numberIn(p, 'p', 0, 1);
  // The op reads seed and offset from device memory (the Dropout layer keeps them there: see
  // stepScalars.ts); here they live in a small tensor for this call.
  const scalars = Tensor.fromArray(dropoutScalarWords(counterArg(seed, 'seed'), counterArg(offset, 'offset')), [4], {
    backend,
    dtype: 'int32',
  });
  try {
    const [y, mask] = native(() => backend.native.dropoutForward(input.handle, p, scalars.handle));
    return { output: bfloat16Output(backend, wrap(backend, y)), mask: wrap(backend, mask) };
  } finally {
    scalars.dispose();
  }
}

/** @internal {@link dropout} with seed and offset read from `scalars` (a DropoutScalars tensor) when the op runs. */
export function dropoutWithScalars(input: Tensor, p: number, scalars: Tensor): { output: Tensor<'float32'>; mask: Tensor<'float32'> } {
  const backend = sameBackend('dropout', { input, scalars });
  const [y, mask] = native(() => backend.native.dropoutForward(input.handle, p, scalars.handle));
  return { output: bfloat16Output(backend, wrap(backend, y)), mask: wrap(backend, mask) };
}

/** Elementwise product (dropout's backward: gradOutput * mask); rounded to bfloat16 in the bf16 math mode. */
export function multiply(a: Tensor, b: Tensor): Tensor<'float32'> {
  const backend = sameBackend('multiply', { a, b });
  return bfloat16Output(
    backend,
    wrap(
      backend,
      native(() => backend.native.multiply(a.handle, b.handle)),
    ),
  );
}
