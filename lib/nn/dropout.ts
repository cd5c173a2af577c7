/**
 * Dropout layer: inverted dropout in training, identity in evaluation. Each forward pass draws a
 * fresh mask from the layer's seed and a running offset; both are part of a checkpoint's state,
 * so a resumed run draws the masks the uninterrupted run would have drawn.
 * @module
 */
import { numberIn } from '../ops/common';
import { dropout, multiply } from '../ops/dropout';
import { checkSeed, nextSeed } from '../random';
import { checkTensor, Tensor, type Seed } from '../tensor';
import { Module, SavedTensors, type BackwardOptions } from './module';

export interface DropoutState {
  seed: string;
  offset: string;
}

export class Dropout extends Module {
  readonly p: number;
  seed: bigint;
  /** Position in the random stream; advances by the element count of each training forward. */
  offset = 0n;
  readonly #saved = new SavedTensors();
  #identity = false;

  constructor(p = 0.5, options: { seed?: Seed } = {}) {
    super();
    this.p = numberIn(p, 'Dropout: p', 0, 1);
    this.seed = checkSeed(options?.seed ?? nextSeed(), 'Dropout: seed');
  }

  override outputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }

  override forward(input: Tensor): Tensor {
    checkTensor(input, 'Dropout: input');  // evaluation never reaches the op's own check
    this.#saved.clear();
    this.#identity = !this.training || this.p === 0;
    if (this.#identity) return input.share();
    const { output, mask } = dropout(input, this.p, this.seed, this.offset);
    // Philox draws 4 words per counter: keep each call's counters apart by rounding up to 4.
    this.offset += BigInt(Math.ceil(input.size / 4) * 4);
    this.#saved.save(mask);
    mask.dispose();
    return output;
  }

  override backward(gradOutput: Tensor, options: BackwardOptions = {}): Tensor | null {
    if (options.inputGrad === false) {
      this.#saved.clear();
      return null;
    }
    if (this.#identity) return checkTensor(gradOutput, 'Dropout: gradOutput').share();
    const [mask] = this.#saved.take();
    if (!mask) throw new Error('Dropout.backward: call forward in training mode first');
    try {
      return multiply(gradOutput, mask);
    } finally {
      mask.dispose();
    }
  }

  /** The random stream's position, for checkpoints. */
  getState(): DropoutState {
    return { seed: this.seed.toString(), offset: this.offset.toString() };
  }

  setState(state: DropoutState): void {
    this.seed = BigInt(state.seed);
    this.offset = BigInt(state.offset);
  }

  override clearSaved(): void {
    this.#saved.clear();
  }
}
