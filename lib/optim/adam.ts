/**
 * Adam (Kingma and Ba, 2015) with torch.optim.Adam's arithmetic: bias-corrected first and second
 * moments, eps added outside the square root, and weight decay as an L2 term added to the gradient
 * (AdamW, lib/optim/adamw.ts, decays the parameter instead). The update is one native op
 * (native/cpu/adam.cc, native/cuda/adam.cu) over as few tensors as the parameters allow
 * (lib/optim/optimizer.ts: one pass over memory for one model's flat buffers); the learning rate and
 * the step count, and so the bias corrections, come from device memory when it runs, so a captured
 * training step replays right.
 * @module
 */
import { callNative } from '../errors';
import { ADAM_STEP_WORD, adamScalarWords } from '../ops/stepScalars';
import type { Tensor } from '../tensor';
import { describe, numberIn, options as checkOptions } from '../validate';
import { Optimizer, type OptimizerState, type OptimizerType, type ParamGroup, type UpdateTensors } from './optimizer';
import { resolveGroups, type ParamsInput } from './paramGroups';

/** Options of {@link Adam} and AdamW; the same meaning as torch.optim.Adam's. Each may also be given per parameter group. */
export interface AdamOptions {
  /** Learning rate, at least 0; default 0.001. */
  lr?: number;
  /** The decay rates of the first and second moment estimates, each in [0, 1); default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Added to the denominator (outside the square root), above 0; default 1e-8. */
  eps?: number;
  /** Weight decay, at least 0: Adam adds it times the parameter to the gradient, AdamW multiplies the parameter by 1 - lr * weightDecay; default 0 (AdamW: 0.01). */
  weightDecay?: number;
  /** The AMSGrad variant: not supported; only false is accepted. */
  amsgrad?: boolean;
}

/** A group's options of {@link Adam}, resolved (everything but the learning rate). */
export interface AdamGroupOptions {
  /** The moments' decay rates. */
  betas: readonly [number, number];
  /** The denominator's term. */
  eps: number;
  /** Weight decay (Adam's L2 term, or AdamW's decoupled decay). */
  weightDecay: number;
}

/** What a checkpoint keeps of an {@link Adam} or AdamW besides its moments (saved as tensors). */
export type AdamState = OptimizerState;

const OPTION_KEYS = ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad'] as const;

/** Checks one group's options (`where` prefixes the names in errors: 'Adam: ', 'Adam: groups[1].'). */
function groupOptions(options: Partial<AdamOptions>, where: string, defaultDecay: number): AdamGroupOptions & { lr: number } {
  const lr = numberIn(options.lr ?? 1e-3, `${where}lr`, 0, Number.MAX_VALUE, true);
  const betas = options.betas ?? [0.9, 0.999];
  if (!Array.isArray(betas) || betas.length !== 2)
    throw new TypeError(`${where}betas must be a pair [beta1, beta2], got ${describe(betas)}`);
  const beta1 = numberIn(betas[0], `${where}betas[0]`, 0, 1);
  const beta2 = numberIn(betas[1], `${where}betas[1]`, 0, 1);
  const eps = numberIn(options.eps ?? 1e-8, `${where}eps`, Number.MIN_VALUE, Number.MAX_VALUE, true);
  const weightDecay = numberIn(options.weightDecay ?? defaultDecay, `${where}weightDecay`, 0, Number.MAX_VALUE, true);
  const amsgrad = options.amsgrad ?? false;
  if (typeof amsgrad !== 'boolean') throw new TypeError(`${where}amsgrad must be a boolean, got ${describe(amsgrad)}`);
  if (amsgrad) throw new RangeError(`${where}amsgrad: the AMSGrad variant is not supported (only amsgrad: false)`);
  return { lr, betas: [beta1, beta2], eps, weightDecay };
}

/**
 * Adam with torch.optim.Adam's arithmetic (AdamW: lib/optim/adamw.ts). Takes the parameters, or
 * parameter groups with options of their own, as {@link SGD} does; each parameter to be trained
 * gets two moment buffers (freed by {@link Adam.dispose}), one that does not require a gradient
 * gets none and no update. The constructor throws a TypeError or RangeError naming a bad option.
 */
export class Adam extends Optimizer<AdamGroupOptions> {
  /** 'adam' (or 'adamw' for AdamW). */
  readonly type: OptimizerType = 'adam';
  protected readonly stepWord = ADAM_STEP_WORD;
  /** Whether the weight decay is AdamW's (decoupled from the gradient). */
  readonly decoupled: boolean;

  constructor(params: ParamsInput<AdamOptions>, options: AdamOptions = {}) {
    // AdamW passes its name and default decay through the prototype chain (new.target).
    const adamW = new.target !== Adam && (new.target as { decoupledWeightDecay?: boolean }).decoupledWeightDecay === true;
    const who = adamW ? 'AdamW' : 'Adam';
    const defaultDecay = adamW ? 0.01 : 0;
    if (options === null || typeof options !== 'object') throw new TypeError(`${who}: options must be an object, got ${describe(options)}`);
    checkOptions(options, OPTION_KEYS, `${who} options`);
    const groups = resolveGroups<AdamOptions>(params, options, OPTION_KEYS, who);
    const single = groups.length === 1;
    if (!single) groupOptions(options, `${who}: `, defaultDecay);
    super(
      who,
      groups.map((g, i) => ({
        params: g.params,
        options: groupOptions(g.options, single ? `${who}: ` : `${who}: groups[${i}].`, defaultDecay),
      })),
    );
    this.decoupled = adamW;
    if (adamW) this.type = 'adamw';
    this.allocateInitialState();
  }

  /** The first group's moment decay rates. */
  get betas(): readonly [number, number] {
    return this.groups[0]!.options.betas;
  }

  /** The first group's eps. */
  get eps(): number {
    return this.groups[0]!.options.eps;
  }

  /** The first group's weight decay. */
  get weightDecay(): number {
    return this.groups[0]!.options.weightDecay;
  }

  protected slots(): readonly string[] {
    return ['exp_avg', 'exp_avg_sq'];
  }

  protected scalarWords(lr: number, steps: number): Int32Array {
    return adamScalarWords(lr, steps);
  }

  protected update(group: ParamGroup<AdamGroupOptions>, tensors: UpdateTensors, scalars: Tensor): void {
    const backend = scalars.backend;
    const { betas, eps, weightDecay } = group.options;
    callNative(() =>
      backend.native.adamStep(
        tensors.values.map((t) => t.handle),
        tensors.grads.map((t) => t.handle),
        tensors.state[0]!.map((t) => t.handle),
        tensors.state[1]!.map((t) => t.handle),
        { beta1: betas[0], beta2: betas[1], eps, weightDecay, decoupled: this.decoupled },
        scalars.handle,
      ),
    );
  }
}
