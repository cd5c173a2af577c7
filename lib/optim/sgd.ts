/**
 * Stochastic gradient descent with momentum, dampening, weight decay and Nesterov momentum, with
 * torch.optim.SGD's arithmetic (see native/core/op_params.h), and torch's parameter groups. The
 * update runs in as few native calls as the parameters allow (lib/optim/optimizer.ts): for one
 * model's flat buffers (lib/nn/flatParameters.ts, how createAlexNet keeps them) in one group, one
 * pass over memory (one kernel on the GPU) with a flat momentum buffer beside them; otherwise a
 * multi-tensor kernel. The learning rate and the step count reach the update through device memory
 * (ops/stepScalars.ts), so a captured training step replays with the current learning rate.
 * @module
 */
import { callNative } from '../errors';
import { SGD_STEP_WORD, sgdScalarWords } from '../ops/stepScalars';
import type { Tensor } from '../tensor';
import { describe, numberIn, options as checkOptions } from '../validate';
import { Optimizer, type OptimizerState, type ParamGroup, type UpdateTensors } from './optimizer';
import { resolveGroups, type ParamsInput } from './paramGroups';

/** Options of {@link SGD}; the same meaning as torch.optim.SGD's. Each may also be given per parameter group. */
export interface SgdOptions {
  /** Learning rate (required, here or in every group); at least 0. */
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

/** A group's options of {@link SGD}, resolved (everything but the learning rate). */
export interface SgdGroupOptions {
  /** Momentum factor (0: none). */
  momentum: number;
  /** Dampening of the momentum. */
  dampening: number;
  /** L2 penalty added to each gradient. */
  weightDecay: number;
  /** Whether Nesterov momentum is used. */
  nesterov: boolean;
}

/** What a checkpoint keeps of an {@link SGD}: the general state, and the first group's options at the top (as before groups). */
export interface SgdState extends Partial<OptimizerState> {
  /** The first group's learning rate at the time of saving (schedules change it). */
  lr: number;
  /** The first group's momentum factor. */
  momentum: number;
  /** The first group's dampening. */
  dampening: number;
  /** The first group's L2 penalty. */
  weightDecay: number;
  /** The first group's Nesterov switch. */
  nesterov: boolean;
  /** Steps taken. */
  steps: number;
}

const OPTION_KEYS = ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov'] as const;

/** Checks one group's options (`where` prefixes the option names in errors: 'SGD: ', 'SGD: groups[1].'). */
function groupOptions(options: Partial<SgdOptions>, where: string): SgdGroupOptions & { lr: number } {
  const lr = numberIn(options.lr, `${where}lr`, 0, Number.MAX_VALUE, true);
  const momentum = numberIn(options.momentum ?? 0, `${where}momentum`, 0, Number.MAX_VALUE, true);
  const dampening = numberIn(options.dampening ?? 0, `${where}dampening`, 0, 1, true);
  const weightDecay = numberIn(options.weightDecay ?? 0, `${where}weightDecay`, 0, Number.MAX_VALUE, true);
  const nesterov = options.nesterov ?? false;
  if (typeof nesterov !== 'boolean') throw new TypeError(`${where}nesterov must be a boolean, got ${describe(nesterov)}`);
  if (nesterov && (momentum <= 0 || dampening !== 0)) throw new RangeError(`${where}nesterov needs momentum > 0 and dampening 0`);
  return { lr, momentum, dampening, weightDecay, nesterov };
}

/**
 * Stochastic gradient descent with torch.optim.SGD's arithmetic. Takes the parameters, or
 * parameter groups with options of their own (`new SGD([{ params: head, lr: 0.1 }, { params: body }],
 * { lr: 0.01, momentum: 0.9 })`). A parameter that does not require a gradient, or has none, is not
 * updated; with momentum, each parameter to be trained gets a buffer (freed by {@link SGD.dispose}).
 * The constructor throws a TypeError or RangeError naming a bad parameter or option.
 */
export class SGD extends Optimizer<SgdGroupOptions> {
  /** 'sgd'. */
  readonly type = 'sgd' as const;
  protected readonly stepWord = SGD_STEP_WORD;

  constructor(params: ParamsInput<SgdOptions>, options: SgdOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('SGD: options must be an object with lr');
    checkOptions(options, OPTION_KEYS, 'SGD options');
    const groups = resolveGroups<SgdOptions>(params, options, OPTION_KEYS, 'SGD');
    const single = groups.length === 1;
    // The defaults are checked even where every group overrides them: a bad value is an error.
    if (!single) groupOptions({ ...options, lr: options.lr ?? 0 }, 'SGD: ');
    super(
      'SGD',
      groups.map((g, i) => ({ params: g.params, options: groupOptions(g.options, single ? 'SGD: ' : `SGD: groups[${i}].`) })),
    );
    this.allocateInitialState();
  }

  /** The first group's momentum factor (0: none). */
  get momentum(): number {
    return this.groups[0]!.options.momentum;
  }

  /** The first group's dampening. */
  get dampening(): number {
    return this.groups[0]!.options.dampening;
  }

  /** The first group's L2 penalty. */
  get weightDecay(): number {
    return this.groups[0]!.options.weightDecay;
  }

  /** The first group's Nesterov switch. */
  get nesterov(): boolean {
    return this.groups[0]!.options.nesterov;
  }

  /**
   * The momentum buffers of the parameters that have one, in `params` order (with every parameter
   * trained and momentum on: one per parameter, views of one flat buffer when the parameters are flat).
   */
  get buffers(): Tensor[] {
    return this.params.flatMap((p) => {
      const buffer = this.stateOf(p)?.momentum_buffer;
      return buffer ? [buffer] : [];
    });
  }

  /** Copies `value` into the momentum buffer of `params[i]` (checkpoints) and disposes it. */
  setBuffer(i: number, value: Tensor): void {
    const param = this.params[i];
    if (!param || !this.slotsOf(param).includes('momentum_buffer')) {
      throw new RangeError(`SGD.setBuffer: no momentum buffer ${describe(i)} (the optimizer has ${this.buffers.length})`);
    }
    const shape = param.value.shape;
    if (value?.shape && value.shape.join(',') !== shape.join(',')) {
      throw new RangeError(`SGD.setBuffer: value has shape [${value.shape.join(', ')}], buffer ${i} has [${shape.join(', ')}]`);
    }
    this.setStateTensor(param, 'momentum_buffer', value);
  }

  /** Hyperparameters, learning rates and step counts, for a checkpoint (the buffers are saved as tensors). */
  override getState(): SgdState & OptimizerState {
    return {
      ...super.getState(),
      momentum: this.momentum,
      dampening: this.dampening,
      weightDecay: this.weightDecay,
      nesterov: this.nesterov,
    };
  }

  /**
   * Restores {@link SGD.getState}'s result. A state saved before parameter groups (no `groups`)
   * restores the learning rate and the step count of every parameter that has state.
   */
  override setState(state: SgdState | OptimizerState): void {
    if (state !== null && typeof state === 'object' && state.groups === undefined) {
      const legacy = this.getState();
      super.setState({
        ...legacy,
        type: 'sgd',
        steps: state.steps,
        groups: legacy.groups.map((g) => ({ ...g, lr: state.lr })),
        paramSteps: legacy.paramSteps.map((s) => (s === null ? null : state.steps)),
      });
      return;
    }
    super.setState(state as OptimizerState);
  }

  protected slots(group: ParamGroup<SgdGroupOptions>): readonly string[] {
    return group.options.momentum > 0 ? ['momentum_buffer'] : [];
  }

  protected scalarWords(lr: number, steps: number): Int32Array {
    return sgdScalarWords(lr, steps);
  }

  protected update(group: ParamGroup<SgdGroupOptions>, tensors: UpdateTensors, scalars: Tensor): void {
    const backend = scalars.backend;
    const buffers = group.options.momentum > 0 ? tensors.state[0]!.map((t) => t.handle) : null;
    callNative(() =>
      backend.native.sgdStep(
        tensors.values.map((t) => t.handle),
        tensors.grads.map((t) => t.handle),
        buffers,
        { ...group.options },
        scalars.handle,
      ),
    );
  }
}
