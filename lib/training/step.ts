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
  const { loss, gradLogits } = softmaxCrossEntropy(logits, labels, { withGrad: true });
  try {
    model.backward(gradLogits!);
  } finally {
    gradLogits!.dispose();
  }
  optimizer.step();
  return { logits, loss };
}

/** Bounds how far the host runs ahead of the device: at most `depth` steps queued. */
export class StepWindow {
  readonly #fences: Promise<void>[] = [];
  constructor(readonly depth: number) {}

  /** Call after queueing a step: waits (without blocking) while more than `depth` steps are queued. */
  async after(model: AlexNet): Promise<void> {
    const fence = model.backend.synchronize();
    fence.catch(() => {}); // awaited below or in drain(); marks early failures as handled
    this.#fences.push(fence);
    while (this.#fences.length > this.depth) await this.#fences.shift();
  }

  /** Waits for every queued step. */
  async drain(): Promise<void> {
    while (this.#fences.length > 0) await this.#fences.shift();
  }
}
