/**
 * Choosing an optimizer by name, as Trainer.fit and the CLI do: `{ type: 'adamw', lr: 3e-4 }`, or
 * SGD's options alone (`{ lr: 0.01, momentum: 0.9 }`, what fit took before there were others).
 * @module
 */
import type { Parameter } from '../nn/module';
import { describe, oneOf } from '../validate';
import { Adam, type AdamOptions } from './adam';
import { AdamW } from './adamw';
import type { Optimizer, OptimizerType } from './optimizer';
import type { ParamsInput } from './paramGroups';
import { SGD, type SgdOptions } from './sgd';

/** SGD by name, with its options. */
export interface SgdChoice extends SgdOptions {
  /** 'sgd'. */
  type: 'sgd';
}

/** Adam or AdamW by name, with their options. */
export interface AdamChoice extends AdamOptions {
  /** 'adam', or 'adamw' for decoupled weight decay. */
  type: 'adam' | 'adamw';
}

/** An optimizer by name with its options; SGD's options without `type` mean SGD. */
export type OptimizerChoice = SgdOptions | SgdChoice | AdamChoice;

/** The optimizers {@link createOptimizer} makes. */
export const OPTIMIZER_TYPES: readonly OptimizerType[] = ['sgd', 'adam', 'adamw'];

/** The type a choice names ('sgd' when it names none). */
export function optimizerTypeOf(choice: OptimizerChoice): OptimizerType {
  if (choice === null || typeof choice !== 'object')
    throw new TypeError(`optimizer must be an object ({ type, lr, ... }), got ${describe(choice)}`);
  const type = (choice as { type?: unknown }).type;
  return type === undefined ? 'sgd' : oneOf(type, OPTIMIZER_TYPES, 'optimizer.type');
}

/** Makes the optimizer `choice` names for `params` (a TypeError or RangeError naming a bad option). */
export function createOptimizer(params: readonly Parameter[], choice: OptimizerChoice): Optimizer {
  const type = optimizerTypeOf(choice);
  const { type: _type, ...options } = choice as { type?: string } & Record<string, unknown>;
  const list = params as ParamsInput<never>;
  switch (type) {
    case 'sgd':
      return new SGD(list, options as unknown as SgdOptions);
    case 'adam':
      return new Adam(list, options);
    case 'adamw':
      return new AdamW(list, options);
  }
}
