/**
 * One model, one job at a time. A model holds state between calls (its mode, the activations a
 * training forward keeps for backward, dropout's random stream), so two jobs interleaved on one
 * model at their `await`s would mix that state and give wrong results without an error. The rules:
 *
 * - `predict()` calls on one model run one after another (a second waits for the first);
 * - `Trainer.fit` and `Trainer.evaluate` need the model to themselves: started while anything else
 *   uses it, or while they run, the other call is rejected at once with a {@link ModelBusyError};
 *   but while fit runs one of its callbacks (onBatch, onEpoch) it is paused between steps, and
 *   `predict()` may use the model (to preview predictions each epoch, say);
 * - evaluation mode is switched on only around the synchronous forward of predict and of
 *   evaluation, and the modes are put back before anything else can run, so no caller ever sees
 *   its model's mode change;
 * - a training-mode forward must be followed by its backward before the next training-mode forward
 *   (AlexNet.forward enforces it), so two training steps cannot share saved activations.
 *
 * Safe at the same time: different models, on any backends; any number of models in worker
 * threads; reading tensors (`toArray`) while a job runs.
 * @module
 */
import type { Module } from '../nn/module';

/** A model is in use by another job (see the module notes); `holder` says which. */
export class ModelBusyError extends Error {
  /** Always 'ModelBusyError'. */
  override readonly name = 'ModelBusyError';
  /** Always 'ERR_MODEL_BUSY'. */
  readonly code = 'ERR_MODEL_BUSY';
  constructor(
    message: string,
    /** The job holding the model ('Trainer.fit', 'Trainer.evaluate' or 'predict'). */
    readonly holder: string,
  ) {
    super(message);
  }
}

/** The jobs that take a model. */
export type ModelJob = 'predict' | 'Trainer.fit' | 'Trainer.evaluate';

interface UseState {
  /** The job running now, or null. */
  holder: ModelJob | null;
  /** The job that lent the model to predict() while it waits (see {@link lendModel}), or null. */
  lentBy: ModelJob | null;
  /** predict() calls started and not yet finished (running or waiting their turn). */
  predicts: number;
  /** Resolves when the last queued predict() finishes. */
  tail: Promise<void>;
}

const states = new WeakMap<object, UseState>();

function stateOf(model: object): UseState {
  let s = states.get(model);
  if (!s) {
    s = { holder: null, lentBy: null, predicts: 0, tail: Promise.resolve() };
    states.set(model, s);
  }
  return s;
}

function busy(job: ModelJob, holder: ModelJob): ModelBusyError {
  return new ModelBusyError(
    `${job}: the model is busy with ${holder}; one model runs one job at a time (wait for it to finish, or use another model)`,
    holder,
  );
}

/** Runs `work` as `job` on `model` under the rules of the module notes. */
export async function useModel<T>(model: object, job: ModelJob, work: () => Promise<T>): Promise<T> {
  const s = stateOf(model);
  if (job === 'predict') {
    if (s.holder !== null && s.holder !== 'predict') throw busy(job, s.holder);
    s.predicts++;
    const previous = s.tail;
    let done!: () => void;
    s.tail = new Promise<void>((resolve) => (done = resolve));
    try {
      await previous;
      // A fit may have taken the model while this call waited for an earlier predict.
      if (s.holder !== null) throw busy(job, s.holder);
      s.holder = job;
      try {
        return await work();
      } finally {
        s.holder = null;
      }
    } finally {
      s.predicts--;
      done();
    }
  }
  if (s.holder !== null) throw busy(job, s.holder);
  if (s.lentBy !== null) throw busy(job, s.lentBy);
  if (s.predicts > 0) throw busy(job, 'predict');
  s.holder = job;
  try {
    return await work();
  } finally {
    s.holder = null;
  }
}

/**
 * Runs `work` (a callback of the job holding `model`, which waits for it) with the model open to
 * predict() calls, and takes the model back once every predict started meanwhile has finished.
 */
export async function lendModel<T>(model: object, work: () => T | Promise<T>): Promise<T> {
  const s = stateOf(model);
  const holder = s.holder;
  if (holder === null || holder === 'predict') return work();
  s.holder = null;
  s.lentBy = holder;
  try {
    return await work();
  } finally {
    while (s.predicts > 0) await s.tail;
    s.lentBy = null;
    s.holder = holder;
  }
}

/**
 * Throws a {@link ModelBusyError} when any job uses `model` now (a fit or evaluation, one lending
 * it to a callback, or predict calls started): for changes to the model itself (`what` names the
 * change in the message), which no job may see half-way.
 */
export function assertModelIdle(model: object, what: string): void {
  const s = stateOf(model);
  const holder = s.holder ?? s.lentBy ?? (s.predicts > 0 ? 'predict' : null);
  if (holder !== null) {
    throw new ModelBusyError(`${what}: the model is busy with ${holder}; change it before or after that job, not during it`, holder);
  }
}

/** Every module of a tree, the root first. */
function modulesOf(root: Module): Module[] {
  return [root, ...root.children().flatMap(([, child]) => modulesOf(child))];
}

/**
 * Runs the synchronous `work` with `model` in evaluation mode and puts every module's mode back as
 * it was before returning, so the switch is never visible to other code (see the module notes).
 */
export function inEvalMode<T>(model: Module, work: () => T): T {
  const modules = modulesOf(model);
  const modes = modules.map((m) => m.training);
  for (const m of modules) m.training = false;
  try {
    return work();
  } finally {
    modules.forEach((m, i) => (m.training = modes[i]!));
  }
}
