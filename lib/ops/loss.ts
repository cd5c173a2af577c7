/**
 * Softmax cross-entropy, fused: the mean loss over the batch and its gradient in one pass, and
 * top-k accuracy counted on the device.
 * @module
 */
import { Tensor } from '../tensor';
import { native, sameBackend, wrap } from './common';
import { options as checkOptions, positiveInt } from '../validate';

/**
 * Mean cross-entropy of softmax(logits) against int32 `labels`; `gradLogits` = (softmax - onehot) / N
 * when `withGrad`. The loss is a one-element tensor (read it with toArray when needed, so the
 * training loop does not wait on the device every step). A label outside [0, classes) gives NaN.
 */
export function softmaxCrossEntropy(
  logits: Tensor,
  labels: Tensor,
  options: { withGrad?: boolean } = {},
): {
  /** The mean loss, a one-element float32 tensor; the caller disposes it. */
  loss: Tensor<'float32'>;
  /** [N, classes], or null when `withGrad` is false; the caller disposes it. */
  gradLogits: Tensor<'float32'> | null;
} {
  const backend = sameBackend('softmaxCrossEntropy', { logits, labels });
  checkOptions(options, ['withGrad'], 'softmaxCrossEntropy options');
  const [loss, grad] = native(() => backend.native.softmaxCrossEntropy(logits.handle, labels.handle, options.withGrad !== false));
  return { loss: wrap(backend, loss), gradLogits: wrap(backend, grad) };
}

/**
 * Adds to `counter` (a one-element float32 tensor) the number of rows whose label is among the k
 * largest logits; ties rank the lower class index first.
 */
export function countTopkCorrect(logits: Tensor, labels: Tensor, k: number, counter: Tensor): void {
  const backend = sameBackend('countTopkCorrect', { logits, labels, counter });
  positiveInt(k, 'k');
  native(() => backend.native.countTopkCorrect(logits.handle, labels.handle, k, counter.handle));
}
