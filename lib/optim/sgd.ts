/**
 * Stochastic gradient descent with momentum, dampening, weight decay and Nesterov momentum, with
 * torch.optim.SGD's arithmetic (see native/core/op_params.h). One native call updates every
 * parameter: when they are one model's flat buffers (lib/nn/flatParameters.ts, how createAlexNet
 * keeps them), in one pass over memory (one kernel on the GPU) with a flat momentum buffer beside
 * them; otherwise through a multi-tensor kernel. The learning rate and the step count reach the
 * update through device memory (ops/stepScalars.ts), so a captured training step replays with the
 * current learning rate.
 * @module
 */
import type { FlatParameters } from '../nn/flatParameters';
import { Parameter } from '../nn/module';
import { numberIn, options as checkOptions } from '../validate';
import { callNative } from '../errors';
import { SGD_STEP_WORD, sgdScalarWords, StepScalars } from '../ops/stepScalars';
import { checkTensor, Tensor } from '../tensor';
import { describe } from '../validate';

/** Options of {@link SGD}; the same meaning as torch.optim.SGD's. */
export interface SgdOptions {
  /** Learning rate (required); at least 0. */
  lr: number;
  /** Momentum factor, at least 0; default 0 (plain SGD, no momentum buffers). */
  momentum?: number;
  /** Dampening of the gradient's contribution to the momentum, in [0, 1]; default 0. */
  dampening?: number;
  /** L2 penalty added to the gradient; default 0. */
  weightDecay?: number;
  /** Default false; needs momentum > 0 and dampening 0, as in PyTorch. */
  nesterov?: boolean;
}

/** What a checkpoint keeps of the optimizer. */
export interface SgdState {
  /** The learning rate at the time of saving (schedules change it). */
  lr: number;
  /** Momentum factor; a loading optimizer must have the same. */
  momentum: number;
  /** Dampening; a loading optimizer must have the same. */
  dampening: number;
  /** L2 penalty; a loading optimizer must have the same. */
  weightDecay: number;
  /** Nesterov momentum; a loading optimizer must have the same. */
  nesterov: boolean;
  /** Steps taken (0 means the momentum buffers were never used). */
  steps: number;
}

/**
 * Stochastic gradient descent with torch.optim.SGD's arithmetic, updating every parameter in one
 * native call. The constructor throws a TypeError or RangeError naming a bad parameter or option;
 * with momentum it allocates one buffer per parameter, freed by {@link SGD.dispose}.
 */
export class SGD {
  /** The parameters it updates, in the order given. */
  readonly params: Parameter[];
  /** The learning rate; schedules change it between steps. */
  lr: number;
  /** Momentum factor (0: none). */
  readonly momentum: number;
  /** Dampening of the momentum. */
  readonly dampening: number;
  /** L2 penalty added to each gradient. */
  readonly weightDecay: number;
  /** Whether Nesterov momentum is used. */
  readonly nesterov: boolean;
  /** Steps taken so far. */
  steps = 0;
  /** Momentum buffers, one per parameter (empty without momentum); views of one flat buffer when the parameters are flat. */
  readonly buffers: Tensor[] = [];
  /** The flat buffers the parameters are, when the update runs over them in one pass; else null. */
  readonly flat: FlatParameters | null;
  #flatMomentum: Tensor | null = null;
  readonly #scalars: StepScalars;

  constructor(params: Parameter[], options: SgdOptions) {
    if (!Array.isArray(params) || params.length === 0) throw new TypeError('SGD: params must be a non-empty array of Parameters');
    params.forEach((p, i) => {
      if (!(p instanceof Parameter)) throw new TypeError(`SGD: params[${i}] must be a Parameter, got ${describe(p)}`);
    });
    if (options === null || typeof options !== 'object') throw new TypeError('SGD: options must be an object with lr');
    checkOptions(options, ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov'], 'SGD options');
    this.params = params;
    this.lr = numberIn(options.lr, 'SGD: lr', 0, Number.MAX_VALUE, true);
    this.momentum = numberIn(options.momentum ?? 0, 'SGD: momentum', 0, Number.MAX_VALUE, true);
    this.dampening = numberIn(options.dampening ?? 0, 'SGD: dampening', 0, 1, true);
    this.weightDecay = numberIn(options.weightDecay ?? 0, 'SGD: weightDecay', 0, Number.MAX_VALUE, true);
    this.nesterov = options.nesterov ?? false;
    if (typeof this.nesterov !== 'boolean') throw new TypeError('SGD: nesterov must be a boolean');
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new RangeError('SGD: nesterov needs momentum > 0 and dampening 0');
    }
    const backend = params[0]!.value.backend;
    params.forEach((p, i) => {
      if (p.value.backend !== backend) {
        throw new TypeError(`SGD: params[${i}] (${p.name}) is on the ${p.value.backend.kind} backend, params[0] on ${backend.kind}`);
      }
    });
    const group = params[0]!.flat;
    this.flat = group && group.covers(params) ? group : null;
    if (this.momentum > 0) {
      if (this.flat) {
        this.#flatMomentum = Tensor.zeros([this.flat.size], { backend });
        for (const s of this.flat.segments) this.buffers.push(this.#flatMomentum.slice(s.offset, s.parameter.value.shape));
      } else {
        for (const p of params) this.buffers.push(Tensor.zeros(p.value.shape, { backend }));
      }
    }
    this.#scalars = new StepScalars(backend);
  }

  /** Applies one update from the parameters' current gradients. */
  step(): void {
    const missing = this.params.findIndex((p) => p.grad === null);
    if (missing >= 0) throw new Error(`SGD.step: parameter ${missing} (${this.params[missing]!.name}) has no gradient; run backward first`);
    const backend = this.params[0]!.value.backend;
    this.syncScalars();
    const options = { momentum: this.momentum, dampening: this.dampening, weightDecay: this.weightDecay, nesterov: this.nesterov };
    const scalars = this.#scalars.tensor.handle;
    if (this.flat) {
      const flat = this.flat;
      callNative(() =>
        backend.native.sgdStep([flat.values.handle], [flat.grads.handle], this.#flatMomentum ? [this.#flatMomentum.handle] : null, options, scalars),
      );
    } else {
      callNative(() =>
        backend.native.sgdStep(
          this.params.map((p) => p.value.handle),
          this.params.map((p) => p.grad!.handle),
          this.momentum > 0 ? this.buffers.map((b) => b.handle) : null,
          options,
          scalars,
        ),
      );
    }
    this.#scalars.advance(SGD_STEP_WORD, 1n);
    this.steps++;
  }

  /** @internal Writes the learning rate and step count to the device if they changed since it last saw them. */
  syncScalars(): void {
    if (typeof this.lr !== 'number' || !Number.isFinite(this.lr) || this.lr < 0) {
      throw new RangeError(`SGD: lr must be finite and non-negative, got ${describe(this.lr)}`);
    }
    this.#scalars.sync(sgdScalarWords(this.lr, this.steps));
  }

  /** @internal Records a step that ran inside a replayed graph: the step count moves as step() moves it. */
  replayedStep(): void {
    this.#scalars.advanced(SGD_STEP_WORD, 1n);
    this.steps++;
  }

  /** @internal Forgets what the device holds (after a capture that never ran), so the next step writes it. */
  invalidateScalars(): void {
    this.#scalars.invalidate();
  }

  /**
   * Replaces momentum buffer `i` with `value`'s contents (checkpoints): copied into the flat
   * buffer's view when the buffers are flat, else swapped in. Takes `value` over (disposes it or keeps it).
   */
  setBuffer(i: number, value: Tensor): void {
    const buffer = this.buffers[i];
    if (!buffer) throw new RangeError(`SGD.setBuffer: no momentum buffer ${i} (the optimizer has ${this.buffers.length})`);
    checkTensor(value, 'SGD.setBuffer: value', buffer.backend);
    if (value.shape.join(',') !== buffer.shape.join(',')) {
      throw new RangeError(`SGD.setBuffer: value has shape [${value.shape.join(', ')}], buffer ${i} has [${buffer.shape.join(', ')}]`);
    }
    if (value === buffer) return;
    if (this.#flatMomentum) {
      callNative(() => buffer.backend.native.copy(buffer.handle, value.handle));
      value.dispose();
    } else {
      buffer.dispose();
      this.buffers[i] = value;
    }
  }

  /** Hyperparameters, learning rate and step count, for a checkpoint (the buffers are saved as tensors). */
  getState(): SgdState {
    return {
      lr: this.lr,
      momentum: this.momentum,
      dampening: this.dampening,
      weightDecay: this.weightDecay,
      nesterov: this.nesterov,
      steps: this.steps,
    };
  }

  /** Restores the step count and learning rate (buffers are restored separately, as tensors). */
  setState(state: SgdState): void {
    this.lr = state.lr;
    this.steps = state.steps;
  }

  /** Frees the momentum buffers (not the parameters, which belong to the model). */
  dispose(): void {
    for (const b of this.buffers) b.dispose();
    this.#flatMomentum?.dispose();
    this.#scalars.dispose();
  }
}
