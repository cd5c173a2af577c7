/**
 * Parameter groups as torch.optim takes them: an optimizer gets either a plain array of parameters
 * (one group with the optimizer's options) or an array of groups, each `{ params, ...options }`,
 * whose options override the optimizer's defaults for its parameters
 * (`new SGD([{ params: head, lr: 0.01 }, { params: body }], { lr: 0.001, momentum: 0.9 })`).
 * This file checks what was given and resolves each group's options; the optimizers validate the
 * option values themselves.
 * @module
 */
import { Parameter } from '../nn/module';
import { describe, options as checkOptions } from '../validate';

/** One parameter group as given: its parameters and the options it overrides. */
export type ParamGroupInput<O> = {
  /** The group's parameters (non-empty; a parameter may be in one group only). */
  params: readonly Parameter[];
} & Partial<O>;

/** What an optimizer takes: the parameters (one group), or parameter groups. */
export type ParamsInput<O> = readonly Parameter[] | readonly ParamGroupInput<O>[];

/** A group as resolved: its parameters and its options, the optimizer's defaults filled in. */
export interface ResolvedGroup<O> {
  /** The group's parameters, in the order given. */
  params: Parameter[];
  /** The group's options (its own where it gave them, else the defaults). */
  options: Partial<O>;
}

/**
 * Checks `params` (a non-empty array of Parameters, or of groups with non-empty `params` and only
 * options among `known`, no parameter given twice) and merges each group's options over `defaults`.
 * `who` names the optimizer in errors ('SGD').
 */
export function resolveGroups<O extends object>(
  params: unknown,
  defaults: Partial<O>,
  known: readonly (keyof O & string)[],
  who: string,
): ResolvedGroup<O>[] {
  if (!Array.isArray(params) || params.length === 0) {
    throw new TypeError(
      `${who}: params must be a non-empty array of Parameters or of parameter groups ({ params, ...options }), got ${describe(params)}`,
    );
  }
  const groups: { params: unknown; options: Record<string, unknown>; where: string }[] = [];
  const first: unknown = params[0];
  // Groups are plain objects ({ params, ...options }); anything else is read as a list of Parameters.
  const grouped = first !== null && typeof first === 'object' && Object.getPrototypeOf(first) === Object.prototype;
  if (!grouped) {
    groups.push({ params, options: {}, where: 'params' });
  } else {
    params.forEach((g: unknown, i) => {
      if (g instanceof Parameter)
        throw new TypeError(`${who}: params mixes Parameters and parameter groups (params[${i}] is a Parameter); give one or the other`);
      if (g === null || typeof g !== 'object' || Array.isArray(g)) {
        throw new TypeError(`${who}: params[${i}] must be a Parameter or a parameter group { params, ...options }, got ${describe(g)}`);
      }
      checkOptions(g as Record<string, unknown>, ['params', ...known], `${who} groups[${i}]`);
      const { params: groupParams, ...options } = g as Record<string, unknown>;
      groups.push({ params: groupParams, options, where: `groups[${i}].params` });
    });
  }
  const seen = new Map<Parameter, string>();
  return groups.map(({ params: list, options, where }) => {
    if (!Array.isArray(list) || list.length === 0)
      throw new TypeError(`${who}: ${where} must be a non-empty array of Parameters, got ${describe(list)}`);
    list.forEach((p: unknown, j) => {
      if (!(p instanceof Parameter)) throw new TypeError(`${who}: ${where}[${j}] must be a Parameter, got ${describe(p)}`);
      const before = seen.get(p);
      if (before !== undefined)
        throw new TypeError(`${who}: ${where}[${j}] (${p.name}) is also ${before}; a parameter may be in one group only, once`);
      seen.set(p, `${where}[${j}]`);
    });
    const merged: Record<string, unknown> = { ...defaults };
    for (const [key, value] of Object.entries(options)) if (value !== undefined) merged[key] = value;
    return { params: list as Parameter[], options: merged as Partial<O> };
  });
}
