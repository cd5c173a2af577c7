/**
 * Cross-channel local response normalization (Krizhevsky et al. 2012, section 3.3).
 *
 * Convention: `alpha` here is PyTorch's and cuDNN's, which is divided by `size` inside:
 *   y_c = x_c / (k + alpha / size * sum_{c' in window(c)} x_c'^2) ^ beta.
 * The paper and TensorFlow's tf.nn.local_response_normalization write the sum's factor directly
 * (the paper's alpha = 1e-4 multiplies the sum); {@link lrnParamsFromPaper} converts.
 * @module
 */
import type { NativeLrnParams } from '../backend/native';
import { Tensor } from '../tensor';
import { bfloat16Output } from './bfloat16';
import { native, sameBackend, wrap } from './common';
import { numberIn, positiveInt } from '../validate';

/** LRN parameters in PyTorch's convention (alpha divided by size). */
export interface LrnParams {
  /** Channels in the window, an odd number from 1 to 15 (the paper's n = 5). */
  size: number;
  /** Scale of the sum of squares, divided by `size` inside (PyTorch's default 1e-4); at least 0. */
  alpha: number;
  /** Exponent (the paper's 0.75); at least 0.01. */
  beta: number;
  /** Additive constant (the paper's 2, PyTorch's default 1); at least 1e-5. */
  k: number;
}

/** Converts the paper's (and TensorFlow's) constants, where alpha multiplies the sum itself. */
export function lrnParamsFromPaper(p: LrnParams): LrnParams {
  return { ...p, alpha: p.alpha * p.size };
}

/** @internal */
export function checkLrnParams(p: LrnParams): NativeLrnParams {
  if (p === null || typeof p !== 'object') throw new TypeError('LRN parameters must be an object {size, alpha, beta, k}');
  const size = positiveInt(p.size, 'size');
  if (size % 2 === 0 || size > 15) throw new RangeError(`size must be an odd integer from 1 to 15, got ${size}`);
  return {
    size,
    alpha: numberIn(p.alpha, 'alpha', 0, Number.MAX_VALUE, true),
    beta: numberIn(p.beta, 'beta', 0.01, Number.MAX_VALUE, true),
    k: numberIn(p.k, 'k', 1e-5, Number.MAX_VALUE, true),
  };
}

/**
 * Local response normalization across channels of a float32 [N, C, H, W] tensor, as a new tensor
 * the caller disposes. Throws a TypeError or RangeError for bad parameters.
 */
export function localResponseNorm(input: Tensor, params: LrnParams): Tensor<'float32'> {
  const backend = sameBackend('localResponseNorm', { input });
  const p = checkLrnParams(params);
  return bfloat16Output(
    backend,
    wrap(
      backend,
      native(() => backend.native.lrnForward(input.handle, p)),
    ),
  );
}

/** Gradient with respect to the input, given the forward's input and output. */
export function localResponseNormBackward(input: Tensor, output: Tensor, gradOutput: Tensor, params: LrnParams): Tensor<'float32'> {
  const backend = sameBackend('localResponseNormBackward', { input, output, gradOutput });
  const p = checkLrnParams(params);
  return bfloat16Output(
    backend,
    wrap(
      backend,
      native(() => backend.native.lrnBackward(input.handle, output.handle, gradOutput.handle, p)),
    ),
  );
}
