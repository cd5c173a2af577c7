/**
 * Cross-entropy loss over softmax, fused (PyTorch's nn.CrossEntropyLoss with mean reduction).
 * @module
 */
import { checkTensor, Tensor } from '../tensor';
import { softmaxCrossEntropy } from '../ops/loss';

/** Softmax cross-entropy averaged over the batch (PyTorch's nn.CrossEntropyLoss, mean reduction), fused. */
export class CrossEntropyLoss {
  /**
   * The mean loss (a one-element tensor) and the gradient for the logits. `labels` is an int32
   * tensor of class indices, one per row of `logits`.
   */
  compute(
    logits: Tensor,
    labels: Tensor,
  ): {
    /** The mean loss, a one-element float32 tensor; the caller disposes it. */
    loss: Tensor<'float32'>;
    /** (softmax(logits) - onehot(labels)) / N, shaped like `logits`, for {@link Module.backward}; the caller disposes it. */
    gradLogits: Tensor<'float32'>;
  } {
    checkTensor(logits, 'logits');
    checkTensor(labels, 'labels');
    if (labels.dtype !== 'int32') throw new TypeError(`labels must be an int32 tensor, got ${labels.dtype}`);
    const { loss, gradLogits } = softmaxCrossEntropy(logits, labels, { withGrad: true });
    return { loss, gradLogits: gradLogits! };
  }

  /** The mean loss only (evaluation). */
  value(logits: Tensor, labels: Tensor): Tensor<'float32'> {
    return softmaxCrossEntropy(logits, labels, { withGrad: false }).loss;
  }
}
