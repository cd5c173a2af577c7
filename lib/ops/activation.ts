/**
 * ReLU (NaN passes through, as in PyTorch) and softmax.
 * @module
 */
import { Tensor } from '../tensor';
import { bfloat16Output } from './bfloat16';
import { native, sameBackend, wrap } from './common';

/** max(input, 0) elementwise, as a new tensor the caller disposes (NaN stays NaN). */
export function relu(input: Tensor): Tensor<'float32'> {
  const backend = sameBackend('relu', { input });
  return bfloat16Output(
    backend,
    wrap(
      backend,
      native(() => backend.native.reluForward(input.handle)),
    ),
  );
}

/** dx = output > 0 ? gradOutput : 0, from the forward's output. */
export function reluBackward(output: Tensor, gradOutput: Tensor): Tensor<'float32'> {
  const backend = sameBackend('reluBackward', { output, gradOutput });
  return bfloat16Output(
    backend,
    wrap(
      backend,
      native(() => backend.native.reluBackward(output.handle, gradOutput.handle)),
    ),
  );
}

/** Softmax over the last dimension of a [N, classes] tensor (fp32 in every math mode). */
export function softmax(input: Tensor): Tensor<'float32'> {
  const backend = sameBackend('softmax', { input });
  return wrap(
    backend,
    native(() => backend.native.softmaxForward(input.handle)),
  );
}
