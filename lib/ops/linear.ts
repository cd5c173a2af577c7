/**
 * Fully connected layers: y = x · weightᵀ + bias with weight [out, in] (PyTorch's layout),
 * and the two backward GEMMs plus the bias gradient.
 * @module
 */
import { options as checkOptions } from '../validate';
import { Tensor } from '../tensor';
import { bfloat16Output, withBfloat16Operands } from './bfloat16';
import { native, nativeShape, sameBackend, wrap } from './common';

/** y = x · weightᵀ + bias, then ReLU when `relu` (fused where the backend can). */
export function linear(input: Tensor, weight: Tensor, bias: Tensor | null = null, options: { relu?: boolean } = {}): Tensor<'float32'> {
  const backend = sameBackend('linear', { input, weight }, { bias });
  checkOptions(options, ['relu'], 'linear options');
  const y = withBfloat16Operands(backend, [input, weight, bias] as const, (x, w, b) =>
    wrap(
      backend,
      native(() => backend.native.linearForward(x.handle, w.handle, b?.handle ?? null, options?.relu === true)),
    ),
  );
  return bfloat16Output(backend, y);
}

/** dx = dy · weight. */
export function linearBackwardData(gradOutput: Tensor, weight: Tensor): Tensor<'float32'> {
  const backend = sameBackend('linearBackwardData', { gradOutput, weight });
  const dx = withBfloat16Operands(backend, [gradOutput, weight] as const, (dy, w) =>
    wrap(
      backend,
      native(() => backend.native.linearBackwardData(dy.handle, w.handle)),
    ),
  );
  return bfloat16Output(backend, dx);
}

/**
 * dW = dyᵀ · x and, when `bias`, db = column sums of dy. With `into`, they are written into those
 * tensors (float32 of the gradients' shapes; a layer's views of a flat gradient buffer) and the
 * results are new handles to them.
 */
export function linearBackwardWeight(
  input: Tensor,
  gradOutput: Tensor,
  options: {
    /** Also the bias gradient. */
    bias?: boolean;
    /** Where to write the gradients instead of new tensors. */
    into?: {
      /** Receives dL/dweight. */
      gradWeight?: Tensor | null;
      /** Receives dL/dbias. */
      gradBias?: Tensor | null;
    };
  } = {},
): {
  /** dL/dweight [out, in]; the caller disposes it. */
  gradWeight: Tensor<'float32'>;
  /** dL/dbias [out], or null unless `options.bias`; the caller disposes it. */
  gradBias: Tensor<'float32'> | null;
} {
  const into = options?.into ?? {};
  const backend = sameBackend(
    'linearBackwardWeight',
    { input, gradOutput },
    { 'into.gradWeight': into.gradWeight, 'into.gradBias': into.gradBias },
  );
  // The gradients are sums over the batch: fp32 (the master gradients) in every math mode.
  const [dw, db] = withBfloat16Operands(backend, [input, gradOutput] as const, (x, dy) =>
    native(() =>
      backend.native.linearBackwardWeight(
        x.handle,
        dy.handle,
        options?.bias === true,
        into.gradWeight?.handle ?? null,
        into.gradBias?.handle ?? null,
      ),
    ),
  );
  return { gradWeight: wrap(backend, dw), gradBias: wrap(backend, db) };
}

/**
 * The first half of a Linear, ReLU, Linear epilogue pair: relu(x · weightᵀ + bias), and the ReLU's
 * mask (an int32 tensor in the backend's own bit layout, only for {@link linearBackwardDataRelu}).
 */
export function linearReluWithMask(
  input: Tensor,
  weight: Tensor,
  bias: Tensor,
): {
  /** The output; the caller disposes it. */
  output: Tensor<'float32'>;
  /** Where the output is positive; the caller disposes it. */
  mask: Tensor<'int32'>;
} {
  const backend = sameBackend('linearReluWithMask', { input, weight, bias });
  const [y, mask] = withBfloat16Operands(backend, [input, weight, bias] as const, (x, w, b) =>
    native(() => backend.native.linearForwardReluMask(x.handle, w.handle, b.handle)),
  );
  return { output: bfloat16Output(backend, wrap(backend, y)), mask: wrap<'int32'>(backend, mask) };
}

/**
 * The second half: the gradient that reaches the pre-activation of the layer whose ReLU made
 * `mask`, (gradOutput · weight) where the mask is set and 0 elsewhere, and that layer's bias
 * gradient, its column sums (written into `into` when given).
 */
export function linearBackwardDataRelu(
  gradOutput: Tensor,
  weight: Tensor,
  mask: Tensor,
  into: Tensor | null = null,
): {
  /** The gradient of the pre-activation; the caller disposes it. */
  gradInput: Tensor<'float32'>;
  /** The masked layer's bias gradient; the caller disposes it. */
  gradBias: Tensor<'float32'>;
} {
  const backend = sameBackend('linearBackwardDataRelu', { gradOutput, weight, mask }, { into });
  const [dx, db] = withBfloat16Operands(backend, [gradOutput, weight] as const, (dy, w) =>
    native(() => backend.native.linearBackwardDataRelu(dy.handle, w.handle, mask.handle, into?.handle ?? null)),
  );
  // The bias gradient, a sum over the batch, stays fp32.
  return { gradInput: bfloat16Output(backend, wrap(backend, dx)), gradBias: wrap(backend, db) };
}

/** The output shape of {@link linear} for these shapes (a RangeError when they do not fit, naming `who`). */
export function linearOutputShape(inputShape: readonly number[], weightShape: readonly number[], who = 'linear'): number[] {
  return nativeShape(who, (addon) => addon.linearOutputShape(inputShape, weightShape));
}
