/**
 * ReLU layer. When it follows a Conv2d or Linear in a Sequential, the ReLU is fused into that
 * layer's forward pass and this layer only keeps the output for its backward pass.
 * @module
 */
import { relu, reluBackward } from '../ops/activation';
import { Tensor } from '../tensor';
import { Module, SavedTensors, type BackwardOptions } from './module';

/**
 * max(x, 0) elementwise (NaN passes through, as in PyTorch). Inside a {@link Sequential} it is fused
 * into a preceding Conv2d or Linear.
 */
export class ReLU extends Module {
  readonly #saved = new SavedTensors();
  #mask: Tensor | null = null;

  override outputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }

  /** max(input, 0) for a float32 tensor of any shape; in training mode keeps the output for backward. */
  override forward(input: Tensor): Tensor<'float32'> {
    const y = relu(input);
    this.adoptOutput(y);
    return y;
  }

  /** Records `output` as this layer's output (for a ReLU fused into the previous layer). */
  adoptOutput(output: Tensor): void {
    // Evaluation keeps nothing and leaves what a pending training step saved (and its mask) alone.
    if (!this.training) return;
    this.#saved.clear();
    this.#dropMask();
    this.#saved.save(output);
  }

  /** @internal Keeps the mask an epilogue made with the output (Sequential's Linear, ReLU, Linear); takes it over. */
  adoptMask(mask: Tensor): void {
    this.#dropMask();
    this.#mask = mask;
  }

  /** @internal The mask kept by adoptMask, handed over to the caller (null when there is none). */
  takeMask(): Tensor | null {
    const mask = this.#mask;
    this.#mask = null;
    return mask;
  }

  /** @internal Whether a mask is kept (the next layer's backward then runs through it). */
  get hasMask(): boolean {
    return this.#mask !== null;
  }

  #dropMask(): void {
    this.#mask?.dispose();
    this.#mask = null;
  }

  /** `gradOutput` where the forward's output was positive, 0 elsewhere (null when `inputGrad` is false). */
  override backward(gradOutput: Tensor, options: BackwardOptions = {}): Tensor<'float32'> | null {
    const [output] = this.#saved.take();
    this.#dropMask();
    if (!output) throw new Error('ReLU.backward: call forward in training mode first');
    try {
      return options.inputGrad === false ? null : reluBackward(output, gradOutput);
    } finally {
      output.dispose();
    }
  }

  override clearSaved(): void {
    this.#saved.clear();
    this.#dropMask();
  }
}
