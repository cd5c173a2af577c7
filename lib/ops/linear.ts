/**
 * Fully connected layers: y = x · weightᵀ + bias with weight [out, in] (PyTorch's layout),
 * and the two backward GEMMs plus the bias gradient.
 * @module
 */
import { options as checkOptions } from '../validate';
import { Tensor } from '../tensor';
import { native, nativeShape, sameBackend, wrap } from './common';

/** y = x · weightᵀ + bias, then ReLU when `relu` (fused where the backend can). */
export function linear(input: Tensor, weight: Tensor, bias: Tensor | null = null, options: { relu?: boolean } = {}): Tensor {
  const backend = sameBackend('linear', { input, weight }, { bias });
  checkOptions(options, ['relu'], 'linear options');
  return wrap(
    backend,
    native(() => backend.native.linearForward(input.handle, weight.handle, bias?.handle ?? null, options?.relu === true)),
  );
}

/** dx = dy · weight. */
export function linearBackwardData(gradOutput: Tensor, weight: Tensor): Tensor {
  const backend = sameBackend('linearBackwardData', { gradOutput, weight });
  return wrap(backend, native(() => backend.native.linearBackwardData(gradOutput.handle, weight.handle)));
}

/** dW = dyᵀ · x and, when `bias`, db = column sums of dy. */
export function linearBackwardWeight(
  input: Tensor,
  gradOutput: Tensor,
  options: { bias?: boolean } = {},
): {
  /** dL/dweight [out, in]; the caller disposes it. */
  gradWeight: Tensor;
  /** dL/dbias [out], or null unless `options.bias`; the caller disposes it. */
  gradBias: Tensor | null;
} {
  const backend = sameBackend('linearBackwardWeight', { input, gradOutput });
  const [dw, db] = native(() => backend.native.linearBackwardWeight(input.handle, gradOutput.handle, options?.bias === true));
  return { gradWeight: wrap(backend, dw), gradBias: wrap(backend, db) };
}

/** The output shape of {@link linear} for these shapes (a RangeError when they do not fit, naming `who`). */
export function linearOutputShape(inputShape: readonly number[], weightShape: readonly number[], who = 'linear'): number[] {
  return nativeShape(who, (addon) => addon.linearOutputShape(inputShape, weightShape));
}
