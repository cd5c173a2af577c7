/**
 * AdamW (Loshchilov and Hutter, 2019) with torch.optim.AdamW's arithmetic: {@link Adam} whose
 * weight decay multiplies each parameter by 1 - lr * weightDecay before the update instead of
 * adding an L2 term to the gradient; weightDecay defaults to 0.01, as torch's does.
 * @module
 */
import { Adam, type AdamOptions } from './adam';
import type { ParamsInput } from './paramGroups';

/** AdamW: Adam with decoupled weight decay (default 0.01); the options are {@link Adam}'s. */
export class AdamW extends Adam {
  /** @internal Read by Adam's constructor: this class decouples the weight decay. */
  static readonly decoupledWeightDecay = true;

  constructor(params: ParamsInput<AdamOptions>, options: AdamOptions = {}) {
    super(params, options);
  }
}
