/**
 * Step scalars: the few numbers that change from one training step to the next (SGD's learning
 * rate and step count, each dropout layer's seed and position in its random stream), kept in a
 * small int32 tensor of 4 words in device memory (native/core/op_params.h: SgdScalars,
 * DropoutScalars). The kernels read them when they run, not when they are queued, so a training
 * step captured into a graph (lib/training/stepCapture.ts) uses the current values at every launch.
 *
 * The JavaScript values (SGD.lr, SGD.steps, Dropout.offset) stay the truth: before a step the owner
 * calls {@link StepScalars.sync} with them, which writes the tensor only when they differ from what
 * the device holds (known from the last write and the advances since); the step advances its own
 * counters on the device ({@link StepScalars.advance}, the advanceCounter op), so in a steady run
 * nothing is written at all, and a replayed graph, which advances them inside, is followed by
 * {@link StepScalars.advanced} to keep the record in step.
 * @internal
 * @module
 */
import type { Backend } from '../backend/backend';
import { callNative } from '../errors';
import { Tensor } from '../tensor';

/** The words of a step-scalar tensor (kScalarWords). */
export const SCALAR_WORDS = 4;
/** Where SGD's step count starts (kSgdStepWord): a uint64 at words 2 and 3. */
export const SGD_STEP_WORD = 2;
/** Where dropout's offset starts (kDropoutOffsetWord): a uint64 at words 2 and 3. */
export const DROPOUT_OFFSET_WORD = 2;

/** The 16 bytes of SGD's scalars: lr (float32), unused, step (uint64). */
export function sgdScalarWords(lr: number, step: number): Int32Array {
  const words = new Int32Array(SCALAR_WORDS);
  const view = new DataView(words.buffer);
  view.setFloat32(0, lr, true);
  view.setBigUint64(SGD_STEP_WORD * 4, BigInt(step), true);
  return words;
}

/** Where Adam's step count starts (kAdamStepWord): a uint64 at words 2 and 3. */
export const ADAM_STEP_WORD = 2;

/** The 16 bytes of Adam's scalars: lr (float64), step (uint64). */
export function adamScalarWords(lr: number, step: number): Int32Array {
  const words = new Int32Array(SCALAR_WORDS);
  const view = new DataView(words.buffer);
  view.setFloat64(0, lr, true);
  view.setBigUint64(ADAM_STEP_WORD * 4, BigInt(step), true);
  return words;
}

/** The 16 bytes of dropout's scalars: seed and offset (uint64 each). */
export function dropoutScalarWords(seed: bigint, offset: bigint): Int32Array {
  const words = new Int32Array(SCALAR_WORDS);
  const view = new DataView(words.buffer);
  view.setBigUint64(0, BigInt.asUintN(64, seed), true);
  view.setBigUint64(DROPOUT_OFFSET_WORD * 4, BigInt.asUintN(64, offset), true);
  return words;
}

/** A step-scalar tensor and the record of what the device holds in it. */
export class StepScalars {
  /** The int32 [4] tensor the kernels read. */
  readonly tensor: Tensor<'int32'>;
  /** What the device holds once the queued work has run, or null when unknown (never written). */
  #held: Int32Array | null = null;

  constructor(backend: Backend) {
    this.tensor = Tensor.empty([SCALAR_WORDS], { backend, dtype: 'int32' });
  }

  /** Writes `words` unless the device already holds them (as far as queued work goes). */
  sync(words: Int32Array): void {
    const held = this.#held;
    if (held && held.every((w, i) => w === words[i])) return;
    callNative(() => this.tensor.handle.upload(words));
    this.#held = Int32Array.from(words);
  }

  /** Queues `counter += increment` for the uint64 at `word` and records it. */
  advance(word: number, increment: bigint): void {
    callNative(() => this.tensor.backend.native.advanceCounter(this.tensor.handle, word, increment));
    this.advanced(word, increment);
  }

  /** Records an advance that ran elsewhere (inside a replayed graph). */
  advanced(word: number, increment: bigint): void {
    if (!this.#held) return;
    const view = new DataView(this.#held.buffer);
    view.setBigUint64(word * 4, BigInt.asUintN(64, view.getBigUint64(word * 4, true) + increment), true);
  }

  /** Forgets what the device holds, so that the next sync writes (after a capture that did not run). */
  invalidate(): void {
    this.#held = null;
  }

  dispose(): void {
    this.tensor.dispose();
  }
}
