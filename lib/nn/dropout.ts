/**
 * Dropout layer: inverted dropout in training, identity in evaluation. Each forward pass draws a
 * fresh mask from the layer's seed and a running offset; both are part of a checkpoint's state,
 * so a resumed run draws the masks the uninterrupted run would have drawn. The kernel reads seed
 * and offset from device memory and the forward pass advances the offset there
 * (ops/stepScalars.ts), so a captured training step draws a new mask at every launch.
 * @module
 */
import type { Backend } from '../backend/backend';
import { describe, numberIn, options as checkOptions } from '../validate';
import { dropoutWithScalars, multiply } from '../ops/dropout';
import { DROPOUT_OFFSET_WORD, dropoutScalarWords, StepScalars } from '../ops/stepScalars';
import { nextSeed } from '../random';
import { seedValue } from '../validate';
import { checkTensor, Tensor, type Seed } from '../tensor';
import { Module, SavedTensors, type BackwardOptions } from './module';

/** A {@link Dropout} layer's random-stream position, as stored in checkpoints (decimal strings: JSON has no bigint). */
export interface DropoutState {
  /** The layer's seed. */
  seed: string;
  /** Elements drawn so far (see {@link Dropout.offset}). */
  offset: string;
}

/**
 * Inverted dropout: in training each element is zeroed with probability `p` and the rest scaled by
 * 1 / (1 - p); in evaluation (or with p = 0) it is the identity. Masks are drawn from (seed, offset),
 * so they are reproducible and the same on every backend. The constructor throws a RangeError
 * unless 0 <= p < 1.
 */
export class Dropout extends Module {
  /** Probability of zeroing an element, in [0, 1); default 0.5. */
  readonly p: number;
  /** Seed of the masks (default: the next process-wide seed). */
  seed: bigint;
  /** Position in the random stream; advances by the element count of each training forward. */
  offset = 0n;
  readonly #saved = new SavedTensors();
  #identity = false;
  #scalars: StepScalars | null = null;
  #lastElements = 0;

  constructor(p = 0.5, options: { seed?: Seed } = {}) {
    super();
    this.p = numberIn(p, 'Dropout: p', 0, 1);
    this.seed = seedValue(checkOptions(options, ['seed'], 'Dropout options').seed ?? nextSeed(), 'Dropout: seed');
  }

  override outputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }

  /**
   * In training, `input` times a fresh mask (advancing {@link Dropout.offset}); in evaluation, a new
   * handle to `input` itself. Either way the caller disposes the result.
   */
  override forward(input: Tensor): Tensor {
    checkTensor(input, 'Dropout: input'); // evaluation never reaches the op's own check
    // Evaluation is the identity (its backward too) and leaves a pending training step's mask alone.
    if (!this.training) {
      if (this.#saved.empty) this.#identity = true;
      return input.share();
    }
    this.#saved.clear();
    this.#identity = this.p === 0;
    if (this.#identity) return input.share();
    const scalars = this.#scalarsOn(input.backend);
    scalars.sync(dropoutScalarWords(this.seed, this.offset));
    const { output, mask } = dropoutWithScalars(input, this.p, scalars.tensor);
    const increment = Dropout.offsetIncrement(input.size);
    scalars.advance(DROPOUT_OFFSET_WORD, increment);
    this.offset += increment;
    this.#lastElements = input.size;
    this.#saved.save(mask);
    mask.dispose();
    return output;
  }

  /** How far one training forward pass over `elements` values moves the offset. */
  static offsetIncrement(elements: number): bigint {
    // Philox draws 4 words per counter: keep each call's counters apart by rounding up to 4.
    return BigInt(Math.ceil(elements / 4) * 4);
  }

  /**
   * @internal Records a training forward pass over `elements` values that ran inside a replayed
   * graph: the offset moves as {@link Dropout.forward} would have moved it.
   */
  replayedForward(elements: number): void {
    const increment = Dropout.offsetIncrement(elements);
    this.#scalars?.advanced(DROPOUT_OFFSET_WORD, increment);
    this.offset += increment;
  }

  /** @internal Elements the last training forward pass masked (0 when it was the identity). */
  get lastForwardElements(): number {
    return this.#identity ? 0 : this.#lastElements;
  }

  /** @internal Writes seed and offset to the device on `backend` if they changed since it last saw them. */
  syncScalars(backend: Backend): void {
    if (!this.training || this.p === 0) return;
    this.#scalarsOn(backend).sync(dropoutScalarWords(this.seed, this.offset));
  }

  /** @internal Forgets what the device holds (after a capture that never ran), so the next forward writes it. */
  invalidateScalars(): void {
    this.#scalars?.invalidate();
  }

  #scalarsOn(backend: Backend): StepScalars {
    if (this.#scalars && this.#scalars.tensor.backend !== backend) {
      this.#scalars.dispose();
      this.#scalars = null;
    }
    this.#scalars ??= new StepScalars(backend);
    return this.#scalars;
  }

  /** `gradOutput` times the last forward's mask (a new handle to `gradOutput` when that forward was the identity). */
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

  /** Restores a position saved by {@link Dropout.getState}, so the next masks match the saved run's. */
  setState(state: DropoutState): void {
    for (const key of ['seed', 'offset'] as const) {
      const v = (state as Partial<DropoutState> | null)?.[key];
      if (typeof v !== 'string' || !/^\d{1,20}$/.test(v) || BigInt(v) >= 1n << 64n) {
        throw new TypeError(`Dropout.setState: ${key} must be a decimal string of an integer in [0, 2^64), got ${describe(v)}`);
      }
    }
    this.seed = BigInt(state.seed);
    this.offset = BigInt(state.offset);
  }

  override clearSaved(): void {
    this.#saved.clear();
  }

  override dispose(): void {
    super.dispose();
    this.#scalars?.dispose();
    this.#scalars = null;
  }
}
