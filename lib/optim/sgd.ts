/**
 * Stochastic gradient descent with momentum, dampening, weight decay and Nesterov momentum, with
 * torch.optim.SGD's arithmetic (see native/core/op_params.h). One native call updates every
 * parameter (a single multi-tensor kernel on the GPU).
 * @module
 */
import { Parameter } from '../nn/module';
import { numberIn, options as checkOptions } from '../validate';
import { callNative } from '../errors';
import { Tensor } from '../tensor';
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
  /** Momentum buffers, one per parameter (empty without momentum). */
  readonly buffers: Tensor[] = [];

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
    if (this.momentum > 0) {
      for (const p of params) this.buffers.push(Tensor.zeros(p.value.shape, { backend: p.value.backend }));
    }
  }

  /** Applies one update from the parameters' current gradients. */
  step(): void {
    const missing = this.params.findIndex((p) => p.grad === null);
    if (missing >= 0) throw new Error(`SGD.step: parameter ${missing} (${this.params[missing]!.name}) has no gradient; run backward first`);
    const backend = this.params[0]!.value.backend;
    callNative(() =>
      backend.native.sgdStep(
        this.params.map((p) => p.value.handle),
        this.params.map((p) => p.grad!.handle),
        this.momentum > 0 ? this.buffers.map((b) => b.handle) : null,
        {
          lr: this.lr,
          momentum: this.momentum,
          dampening: this.dampening,
          weightDecay: this.weightDecay,
          nesterov: this.nesterov,
          firstStep: this.steps === 0,
        },
      ),
    );
    this.steps++;
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
  }
}
