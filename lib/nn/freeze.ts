/**
 * Freezing and unfreezing parameters (Module.freeze, Module.unfreeze): which parameters a name
 * selects, and the lock a training run holds on its parameters' flags.
 *
 * A name selects a block or a parameter as namedParameters() names them: every parameter whose
 * name is the name itself or starts with it followed by a dot ('features' selects
 * 'features.0.weight', ...; 'classifier.6' that layer's weight and bias). Names are matched at
 * dots only, so 'features.1' never selects 'features.10.weight'.
 *
 * A training run fixes which parameters it trains when it starts (its optimizer is built for
 * them, and a captured step records which gradients exist): {@link lockRequiresGrad} marks them,
 * and freezing or unfreezing a marked parameter is a ModelBusyError until the run ends.
 * @module
 */
import { ModelBusyError, type ModelJob } from '../models/modelUse';
import type { Module, Parameter } from './module';

const locks = new WeakMap<Parameter, ModelJob>();

/** Every name a selection may use for `module`'s parameters: each parameter name and each dotted prefix of one. */
export function selectableNames(module: Module): string[] {
  const names: string[] = [];
  const seen = new Set<string>();
  for (const [name] of module.namedParameters()) {
    const parts = name.split('.');
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join('.');
      if (!seen.has(prefix)) {
        seen.add(prefix);
        names.push(prefix);
      }
    }
  }
  return names;
}

/**
 * The parameters (with their names) that `names` select in `module`: all of them for no names.
 * Throws a TypeError for a name that is not a string and a RangeError for one that selects nothing,
 * naming it and listing the valid names; `who` names the caller in messages.
 */
export function selectParameters(module: Module, names: readonly string[], who: string): [string, Parameter][] {
  const named = module.namedParameters();
  if (names.length === 0) return named;
  const selected = new Set<Parameter>();
  for (const [i, name] of names.entries()) {
    if (typeof name !== 'string' || name.length === 0) {
      throw new TypeError(
        `${who}: name ${i} must be a non-empty string (a block or parameter name), got ${typeof name === 'string' ? 'an empty string' : typeof name}`,
      );
    }
    const hits = named.filter(([n]) => n === name || n.startsWith(`${name}.`));
    if (hits.length === 0) {
      const valid = selectableNames(module);
      throw new RangeError(
        `${who}: no block or parameter named ${JSON.stringify(name)}; expected one of ${valid.map((n) => JSON.stringify(n)).join(', ')}` +
          (valid.length === 0 ? ' (the module has no parameters)' : ''),
      );
    }
    for (const [, p] of hits) selected.add(p);
  }
  return named.filter(([, p]) => selected.has(p));
}

/**
 * Sets `requiresGrad` to `value` on the parameters `names` select (see {@link selectParameters}).
 * Frozen parameters lose their gradient. Throws a ModelBusyError when a training run holds any of
 * them (see {@link lockRequiresGrad}); nothing is changed then.
 */
export function setRequiresGrad(module: Module, names: readonly string[], value: boolean, who: string): void {
  const selected = selectParameters(module, names, who);
  for (const [name, p] of selected) {
    const holder = locks.get(p);
    if (holder !== undefined) {
      throw new ModelBusyError(
        `${who}: parameter ${name} is being trained by ${holder}, which fixed the trainable parameters when it started; ` +
          `${who} before calling fit (or after it returns)`,
        holder,
      );
    }
  }
  for (const [, p] of selected) {
    p.requiresGrad = value;
    if (!value) p.clearGrad();
  }
}

/**
 * Marks `params` as held by `holder` (a training run): freezing or unfreezing them throws until
 * the returned function releases them.
 */
export function lockRequiresGrad(params: readonly Parameter[], holder: ModelJob): () => void {
  for (const p of params) locks.set(p, holder);
  return () => {
    for (const p of params) if (locks.get(p) === holder) locks.delete(p);
  };
}

/** A string that changes whenever any of `params` is frozen or unfrozen (for captured steps and checks). */
export function requiresGradKey(params: readonly Parameter[]): string {
  return params.map((p) => (p.requiresGrad ? '1' : '0')).join('');
}
