/**
 * The bf16 precision mode's rounding points, and rounding to bfloat16 as an op.
 *
 * In the `bf16` math mode (see {@link MathMode}) every op rounds at the same points on both
 * backends:
 * - a convolution's or GEMM's float operands (input, weight, bias, incoming gradient) are rounded
 *   to bfloat16 before the op: the weight's bf16 copy is made from the fp32 master at each use;
 * - the activations an op produces, and the gradients of activations its backward produces, are
 *   rounded to bfloat16 when the op has written them;
 * - weight and bias gradients (sums over the batch), the loss, softmax and the optimizer's update
 *   stay fp32.
 *
 * Storage stays float32 holding bfloat16 values (an emulation: every value is exactly what a
 * bfloat16 tensor would hold). Sums inside the ops accumulate in fp32: products of two bfloat16
 * values are exact in fp32 (and in TF32, which the CUDA build runs them in), as on bf16 tensor cores.
 *
 * TODO(issue 12, device session): on CUDA, replace this emulation with bf16 storage in NHWC and
 * cuDNN/cuBLASLt bf16 engines (bench/README.md, "Issue 12 (bf16) on a GPU"); the rounding points
 * stay these, and the tests (test/ops/bfloat16.test.ts, test/models/bf16Presets.test.ts) hold it.
 * @module
 */
import type { Backend, MathMode } from '../backend/backend';
import { Tensor } from '../tensor';
import { native, sameBackend } from './common';

/**
 * `input` rounded to the nearest bfloat16 (ties to even; infinities kept, NaN stays NaN, finite
 * values beyond bfloat16's range become infinities), as a new float32 tensor the caller disposes.
 * Works in every math mode; it is `input.to(torch.bfloat16).float()` in PyTorch, bit for bit
 * (but for which NaN comes out).
 */
export function roundToBfloat16(input: Tensor): Tensor {
  const backend = sameBackend('roundToBfloat16', { input });
  if (input.dtype !== 'float32') throw new TypeError(`roundToBfloat16: expected a float32 input, got ${input.dtype}`);
  const output = Tensor.empty(input.shape, { backend });
  try {
    native(() => backend.native.roundToBfloat16(output.handle, input.handle));
  } catch (error) {
    output.dispose();
    throw error;
  }
  return output;
}

/** @internal Whether ops on `backend` round to bfloat16 (its math mode is 'bf16'). */
export function roundsToBfloat16(backend: Backend | MathMode): boolean {
  return (typeof backend === 'string' ? backend : backend.mathMode) === 'bf16';
}

/**
 * @internal Runs `op` on `operands`; in bf16 mode on bfloat16-rounded copies of them, disposed
 * once the op is queued (the backend keeps their memory until the op has run). Null stays null,
 * and a tensor that is not float32 is passed as it is, for the op to reject in its own words.
 */
export function withBfloat16Operands<const A extends readonly (Tensor | null)[], R>(
  backend: Backend,
  operands: A,
  op: (...rounded: A) => R,
): R {
  if (!roundsToBfloat16(backend)) return op(...operands);
  const copies: Tensor[] = [];
  try {
    const rounded = operands.map((t) => {
      if (t === null || t.dtype !== 'float32') return t;
      const copy = roundToBfloat16(t);
      copies.push(copy);
      return copy;
    });
    return op(...(rounded as unknown as A));
  } finally {
    for (const c of copies) c.dispose();
  }
}

/** @internal In bf16 mode, rounds an op's new output (an activation or its gradient) in place; returns it. */
export function bfloat16Output<T extends Tensor | null>(backend: Backend, output: T): T {
  if (output !== null && roundsToBfloat16(backend)) native(() => backend.native.roundToBfloat16(output.handle, output.handle));
  return output;
}
