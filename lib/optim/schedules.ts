/**
 * Learning-rate schedules. A schedule gives a factor of the base learning rate for each training
 * step, from the step's position (epoch, batch within the epoch); the Trainer calls
 * `optimizer.scaleLr(factor)` before every step, which sets each parameter group's learning rate to
 * its own initial rate times the factor (torch's schedulers scale each group's `initial_lr` alike). Schedules compose by multiplication
 * ({@link chain}), which is how a linear warm-up goes in front of any other schedule.
 *
 * | schedule | factor | PyTorch equivalent |
 * |---|---|---|
 * | {@link stepLR} | gamma^floor(epoch / stepSize) | StepLR |
 * | {@link multiStepLR} | gamma^(milestones passed) | MultiStepLR |
 * | {@link cosineLR} | min + (1 - min)(1 + cos(pi t / T)) / 2 | CosineAnnealingLR (stepped per epoch, or per step) |
 * | {@link linearWarmup} | start + (1 - start) min(1, step / warm-up steps) | LinearLR (stepped per step) |
 * | {@link reduceOnPlateau} | times `factor` when the watched metric stops improving | ReduceLROnPlateau |
 *
 * Everything a schedule remembers is in {@link LrSchedule.getState}, so resuming from a checkpoint
 * continues it exactly.
 * @module
 */
import { describe, nonNegativeInt, numberIn, oneOf, options as checkOptions, positiveInt, positiveNumber } from '../validate';

/** Where a training step is. */
export interface SchedulePosition {
  /** The epoch (0-based) the step belongs to. */
  epoch: number;
  /** The step's batch within its epoch (0-based). */
  batch: number;
  /** Batches per epoch. */
  stepsPerEpoch: number;
}

/** A schedule's saved state (plain JSON). */
export type ScheduleState = {
  /** Which schedule it belongs to ('step', 'plateau', 'chain', ...). */
  kind: string;
  [key: string]: unknown;
};

/** A learning-rate schedule: a factor of the base rate for each step. */
export interface LrSchedule {
  /** A short description, e.g. 'step(30, 0.1)'. */
  readonly name: string;
  /** The factor for the step at `position`. */
  factor(position: SchedulePosition): number;
  /** Called once after each epoch with the watched validation metric (only reduce-on-plateau uses it). */
  observe?(epoch: number, metric: number): void;
  /** What resuming needs. */
  getState(): ScheduleState;
  /** Restores {@link getState}'s result; throws a TypeError when it belongs to another schedule. */
  setState(state: ScheduleState): void;
}

function stateless(kind: string, name: string, factor: (p: SchedulePosition) => number): LrSchedule {
  return {
    name,
    factor,
    getState: () => ({ kind }),
    setState(state: ScheduleState) {
      if (state?.kind !== kind) throw new TypeError(`schedule state is for ${describe(state?.kind)}, expected ${JSON.stringify(kind)}`);
    },
  };
}

/** A constant learning rate. */
export function constantLR(): LrSchedule {
  return stateless('constant', 'constant', () => 1);
}

/** Multiplies the rate by `gamma` (default 0.1) every `stepSize` epochs. */
export function stepLR(options: { stepSize: number; gamma?: number }): LrSchedule {
  checkOptions(options, ['stepSize', 'gamma'], 'stepLR options');
  const stepSize = positiveInt(options?.stepSize, 'stepLR: stepSize');
  const gamma = positiveNumber(options.gamma ?? 0.1, 'stepLR: gamma');
  return stateless('step', `step(${stepSize}, ${gamma})`, (p) => gamma ** Math.floor(p.epoch / stepSize));
}

/** Multiplies the rate by `gamma` (default 0.1) at each milestone epoch. */
export function multiStepLR(options: { milestones: readonly number[]; gamma?: number }): LrSchedule {
  checkOptions(options, ['milestones', 'gamma'], 'multiStepLR options');
  const milestones = options?.milestones;
  if (!Array.isArray(milestones) || milestones.length === 0) {
    throw new TypeError(`multiStepLR: milestones must be a non-empty array of epochs, got ${describe(milestones)}`);
  }
  milestones.forEach((m, i) => {
    positiveInt(m, `multiStepLR: milestones[${i}]`);
    if (i > 0 && m <= milestones[i - 1]!) throw new RangeError('multiStepLR: milestones must increase');
  });
  const gamma = positiveNumber(options.gamma ?? 0.1, 'multiStepLR: gamma');
  return stateless(
    'multistep',
    `multistep(${milestones.join(',')}, ${gamma})`,
    (p) => gamma ** milestones.filter((m) => p.epoch >= m).length,
  );
}

/**
 * Cosine annealing from the base rate to `minFactor` times it over `epochs` epochs (constant
 * after). By epoch, as PyTorch's CosineAnnealingLR stepped once per epoch; `perStep` anneals
 * smoothly within epochs.
 */
export function cosineLR(options: { epochs: number; minFactor?: number; perStep?: boolean }): LrSchedule {
  checkOptions(options, ['epochs', 'minFactor', 'perStep'], 'cosineLR options');
  const epochs = positiveInt(options?.epochs, 'cosineLR: epochs');
  const minFactor = numberIn(options.minFactor ?? 0, 'cosineLR: minFactor', 0, 1, true);
  const perStep = options.perStep ?? false;
  return stateless('cosine', `cosine(${epochs}${minFactor ? `, min ${minFactor}` : ''}${perStep ? ', per step' : ''})`, (p) => {
    const t = perStep ? p.epoch + p.batch / p.stepsPerEpoch : p.epoch;
    const progress = Math.min(t / epochs, 1);
    return minFactor + ((1 - minFactor) * (1 + Math.cos(Math.PI * progress))) / 2;
  });
}

/**
 * Linear warm-up over the first `epochs` epochs (or `steps` steps), from `startFactor` (default
 * 0.1) of the rate to all of it, rising every step. Chain it with another schedule to warm up in
 * front of it.
 */
export function linearWarmup(options: { epochs?: number; steps?: number; startFactor?: number }): LrSchedule {
  if (options !== null && typeof options === 'object') checkOptions(options, ['epochs', 'steps', 'startFactor'], 'linearWarmup options');
  if (options === null || typeof options !== 'object' || (options.epochs === undefined) === (options.steps === undefined)) {
    throw new TypeError('linearWarmup: give exactly one of epochs or steps');
  }
  const epochs = options.epochs === undefined ? undefined : positiveNumber(options.epochs, 'linearWarmup: epochs');
  const steps = options.steps === undefined ? undefined : positiveInt(options.steps, 'linearWarmup: steps');
  const start = numberIn(options.startFactor ?? 0.1, 'linearWarmup: startFactor', 0, 1, true);
  const name = `warmup(${epochs !== undefined ? `${epochs} epochs` : `${steps} steps`}, from ${start})`;
  return stateless('warmup', name, (p) => {
    const total = steps ?? epochs! * p.stepsPerEpoch;
    const step = p.epoch * p.stepsPerEpoch + p.batch;
    return start + (1 - start) * Math.min(1, step / total);
  });
}

/** Options of {@link reduceOnPlateau} (PyTorch's ReduceLROnPlateau, relative threshold). */
export interface PlateauOptions {
  /** 'min' (default) for a loss or an error rate, 'max' for an accuracy. */
  mode?: 'min' | 'max';
  /** Multiplies the rate on a plateau (default 0.1: the paper's divide-by-ten). */
  factor?: number;
  /** Epochs without improvement before reducing (default 10, PyTorch's; the CLI uses fewer). */
  patience?: number;
  /** Relative improvement that counts (default 1e-4). */
  threshold?: number;
  /** Epochs to wait after a reduction before counting again (default 0). */
  cooldown?: number;
  /** The smallest factor reached (default 0). */
  minFactor?: number;
}

/**
 * Reduces the rate by `factor` when the metric passed to `observe` after each epoch has not
 * improved for `patience` epochs: the paper's "divide the learning rate by 10 when the validation
 * error rate stopped improving".
 */
export function reduceOnPlateau(options: PlateauOptions = {}): LrSchedule {
  checkOptions(options, ['mode', 'factor', 'patience', 'threshold', 'cooldown', 'minFactor'], 'reduceOnPlateau options');
  const mode = oneOf(options.mode ?? 'min', ['min', 'max'], 'reduceOnPlateau: mode');
  const factor = numberIn(options.factor ?? 0.1, 'reduceOnPlateau: factor', 0, 1);
  const patience = nonNegativeInt(options.patience ?? 10, 'reduceOnPlateau: patience');
  const threshold = numberIn(options.threshold ?? 1e-4, 'reduceOnPlateau: threshold', 0, 1, true);
  const cooldown = nonNegativeInt(options.cooldown ?? 0, 'reduceOnPlateau: cooldown');
  const minFactor = numberIn(options.minFactor ?? 0, 'reduceOnPlateau: minFactor', 0, 1, true);
  let current = 1;
  let best = mode === 'min' ? Infinity : -Infinity;
  let badEpochs = 0;
  let cooldownLeft = 0;
  const improves = (x: number) =>
    mode === 'min' ? x < best * (1 - Math.sign(best) * threshold) : x > best * (1 + Math.sign(best) * threshold);
  return {
    name: `plateau(${mode}, factor ${factor}, patience ${patience})`,
    factor: () => current,
    observe(_epoch: number, metric: number) {
      if (typeof metric !== 'number' || Number.isNaN(metric))
        throw new TypeError(`reduceOnPlateau: metric must be a number, got ${describe(metric)}`);
      if (improves(metric) || best === (mode === 'min' ? Infinity : -Infinity)) {
        best = metric;
        badEpochs = 0;
      } else {
        badEpochs++;
      }
      if (cooldownLeft > 0) {
        cooldownLeft--;
        badEpochs = 0;
      }
      if (badEpochs > patience) {
        current = Math.max(current * factor, minFactor);
        cooldownLeft = cooldown;
        badEpochs = 0;
      }
    },
    getState: () => ({ kind: 'plateau', current, best: Number.isFinite(best) ? best : null, badEpochs, cooldownLeft }),
    setState(state: ScheduleState) {
      if (state?.kind !== 'plateau') throw new TypeError(`schedule state is for ${describe(state?.kind)}, expected "plateau"`);
      current = state.current as number;
      best = state.best === null ? (mode === 'min' ? Infinity : -Infinity) : (state.best as number);
      badEpochs = state.badEpochs as number;
      cooldownLeft = state.cooldownLeft as number;
    },
  };
}

/** Several schedules at once: the factors multiply; observations and state go to each. */
export function chain(...schedules: LrSchedule[]): LrSchedule {
  schedules.forEach((s, i) => {
    if (s === null || typeof s !== 'object' || typeof s.factor !== 'function') {
      throw new TypeError(`chain: argument ${i} must be a schedule, got ${describe(s)}`);
    }
  });
  return {
    name: schedules.map((s) => s.name).join(' * '),
    factor: (p) => schedules.reduce((f, s) => f * s.factor(p), 1),
    observe(epoch: number, metric: number) {
      for (const s of schedules) s.observe?.(epoch, metric);
    },
    getState: () => ({ kind: 'chain', parts: schedules.map((s) => s.getState()) }),
    setState(state: ScheduleState) {
      const parts = state?.parts;
      if (state?.kind !== 'chain' || !Array.isArray(parts) || parts.length !== schedules.length) {
        throw new TypeError(`schedule state does not match a chain of ${schedules.length} schedules`);
      }
      schedules.forEach((s, i) => s.setState(parts[i] as ScheduleState));
    },
  };
}

/**
 * Parses a schedule from text, as the CLI takes it:
 * `constant`, `step:EPOCHS[:GAMMA]`, `multistep:E1,E2,...[:GAMMA]`, `cosine[:MIN_FACTOR]` (over
 * `totalEpochs`), `plateau[:PATIENCE[:FACTOR]]`; `warmupEpochs` > 0 chains a linear warm-up in front.
 */
export function parseSchedule(text: string, totalEpochs: number, warmupEpochs = 0): LrSchedule {
  if (typeof text !== 'string') throw new TypeError(`schedule must be a string, got ${describe(text)}`);
  const [kind, ...args] = text.trim().split(':');
  const num = (s: string | undefined, what: string): number | undefined => {
    if (s === undefined || s === '') return undefined;
    const v = Number(s);
    if (!Number.isFinite(v)) throw new TypeError(`schedule ${JSON.stringify(text)}: ${what} must be a number, got ${JSON.stringify(s)}`);
    return v;
  };
  let base: LrSchedule;
  switch (kind) {
    case 'constant':
    case 'none':
      base = constantLR();
      break;
    case 'step':
      base = stepLR({ stepSize: num(args[0], 'the step size')!, gamma: num(args[1], 'gamma') ?? 0.1 });
      break;
    case 'multistep': {
      const milestones = (args[0] ?? '')
        .split(',')
        .filter((s) => s !== '')
        .map((s) => num(s, 'a milestone')!);
      base = multiStepLR({ milestones, gamma: num(args[1], 'gamma') ?? 0.1 });
      break;
    }
    case 'cosine':
      base = cosineLR({ epochs: totalEpochs, minFactor: num(args[0], 'the minimum factor') ?? 0, perStep: true });
      break;
    case 'plateau':
      base = reduceOnPlateau({ patience: num(args[0], 'patience') ?? 2, factor: num(args[1], 'the factor') ?? 0.1 });
      break;
    default:
      throw new TypeError(
        `unknown schedule ${JSON.stringify(text)}: use constant, step:EPOCHS[:GAMMA], multistep:E1,E2[:GAMMA], cosine[:MIN], plateau[:PATIENCE[:FACTOR]]`,
      );
  }
  if (warmupEpochs < 0 || !Number.isFinite(warmupEpochs))
    throw new RangeError(`warm-up epochs must be a non-negative number, got ${warmupEpochs}`);
  return warmupEpochs > 0 ? chain(linearWarmup({ epochs: warmupEpochs }), base) : base;
}
