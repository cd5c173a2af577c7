/**
 * Flatten: [N, C, H, W] to [N, C*H*W], sharing memory (no copy).
 * @module
 */
import { checkTensor, Tensor } from '../tensor';
import { Module, type BackwardOptions } from './module';

/** Reshapes [N, ...] to [N, product of the rest] (e.g. [N, C, H, W] to [N, C*H*W]) without copying. */
export class Flatten extends Module {
  #inputShape: number[] | null = null;

  override outputShape(inputShape: readonly number[]): number[] {
    if (inputShape.length < 1) throw new RangeError('Flatten: input must have a batch dimension');
    return [inputShape[0]!, inputShape.slice(1).reduce((a, b) => a * b, 1)];
  }

  /** A [N, C*H*W] view of `input` sharing its memory; the caller disposes it (and `input`) independently. */
  override forward(input: Tensor): Tensor {
    checkTensor(input, 'Flatten: input');
    this.#inputShape = [...input.shape];
    return input.reshape(this.outputShape(input.shape));
  }

  /** `gradOutput` reshaped to the last forward's input shape (a view sharing its memory). */
  override backward(gradOutput: Tensor, options: BackwardOptions = {}): Tensor | null {
    const shape = this.#inputShape;
    if (!shape) throw new Error('Flatten.backward: call forward first');
    return options.inputGrad === false ? null : checkTensor(gradOutput, 'Flatten: gradOutput').reshape(shape);
  }

  override clearSaved(): void {
    this.#inputShape = null;
  }
}
