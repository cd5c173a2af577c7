/**
 * One training step, as the Trainer runs it and the benchmark times it, and the bound on how far
 * the host runs ahead of the device.
 * @module
 */
import type { AlexNet } from '../models/alexnet';
import { softmaxCrossEntropy } from '../ops/loss';
import type { SGD } from '../optim/sgd';
import type { Tensor } from '../tensor';

/**
 * Forward in the model's current mode, fused softmax cross-entropy (mean) with its gradient,
 * backward through every layer (no gradient for the input images), and the optimizer's update.
 * Everything is queued; returns the logits and the loss (the caller disposes both).
 */
export function trainStep(model: AlexNet, optimizer: SGD, input: Tensor, labels: Tensor): { logits: Tensor; loss: Tensor } {
  const logits = model.forward(input);
  let loss: Tensor | null = null;
  try {
    const result = softmaxCrossEntropy(logits, labels, { withGrad: true });
    loss = result.loss;
    try {
      model.backward(result.gradLogits!);
    } finally {
      result.gradLogits!.dispose();
    }
    optimizer.step();
    return { logits, loss };
  } catch (error) {
    // A step that failed half-way must not leave activations behind for the next one to trip on.
    model.clearSaved();
    logits.dispose();
    loss?.dispose();
    throw error;
  }
}

/** Bounds how far the host runs ahead of the device: at most `depth` steps queued. */
export class StepWindow {
  readonly #fences: Promise<void>[] = [];
  constructor(readonly depth: number) {}

  /**
   * Call after queueing a step: waits (without blocking) while more than `depth` steps are queued.
   * `onFinished` is called when the step has actually run on the device (for timing).
   */
  async after(model: AlexNet, onFinished?: () => void): Promise<void> {
    const fence = model.backend.synchronize();
    // Awaited below or in drain(); this also marks early failures as handled. onFinished must not throw.
    fence.then(() => onFinished?.(), () => {}).catch(() => {});
    this.#fences.push(fence);
    while (this.#fences.length > this.depth) await this.#fences.shift();
  }

  /** Waits for every queued step. */
  async drain(): Promise<void> {
    while (this.#fences.length > 0) await this.#fences.shift();
  }
}
