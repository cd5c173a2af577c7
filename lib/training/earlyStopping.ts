/**
 * Early stopping: ending a fit once a validation metric has stopped improving.
 *
 * The decision is computed from the epoch records alone (the best value so far, and the epochs
 * since it), so a resumed run (whose checkpoint holds the history) decides exactly as an
 * uninterrupted one. An epoch improves on the best when its value is lower than the best by more
 * than `minDelta` ('min' mode) or higher by more than `minDelta` ('max' mode), as in Keras'
 * EarlyStopping and Lightning's; the run stops after `patience` epochs in a row without one.
 * @module
 */
import { describe, nonNegativeInt, options as checkOptions } from '../validate';
import type { EpochRecord } from './epochRecord';

/** The {@link EpochRecord} fields early stopping may watch (validation metrics). */
export type EarlyStoppingMetric = 'valLoss' | 'valTop1' | 'valTop5';

/** Every {@link EarlyStoppingMetric}. */
export const EARLY_STOPPING_METRICS: readonly EarlyStoppingMetric[] = ['valLoss', 'valTop1', 'valTop5'];

/** Options of early stopping (FitOptions.earlyStopping). */
export interface EarlyStoppingOptions {
  /** The validation metric watched; default 'valLoss'. */
  metric?: EarlyStoppingMetric;
  /** Epochs in a row without improvement after which training stops; default 3. */
  patience?: number;
  /** How much better than the best an epoch must be to count as an improvement (at least 0); default 0. */
  minDelta?: number;
  /** Whether lower ('min') or higher ('max') is better; default 'min' for valLoss, 'max' for accuracies. */
  mode?: 'min' | 'max';
  /**
   * At the end of the fit (stopped early or not), put back the weights of the best epoch of this
   * call, kept in a device copy of the parameters (one more model's worth of memory); default
   * false (the model keeps the last epoch's weights, as the last checkpoint does).
   */
  restoreBest?: boolean;
}

/** Why a fit stopped early (FitResult.earlyStop). */
export interface EarlyStop {
  /** The metric watched. */
  metric: EarlyStoppingMetric;
  /** The epoch (0-based) after which training stopped. */
  epoch: number;
  /** The best epoch (0-based). */
  bestEpoch: number;
  /** The metric's value there. */
  best: number;
  /** Whether the model's weights were put back to the best epoch's (see EarlyStoppingOptions.restoreBest). */
  restoredBest: boolean;
  /** One sentence saying why. */
  reason: string;
}

/** What {@link EarlyStopping.observe} found after an epoch. */
export interface EarlyStoppingVerdict {
  /** Whether the latest epoch is the new best. */
  improved: boolean;
  /** The best epoch so far (0-based) and its value. */
  bestEpoch: number;
  /** The metric's best value so far. */
  best: number;
  /** Why to stop now, or null to go on. */
  stop: string | null;
}

/** The early-stopping rule over a run's epoch records (see the module notes). */
export class EarlyStopping {
  /** The metric watched. */
  readonly metric: EarlyStoppingMetric;
  /** Epochs without improvement before stopping. */
  readonly patience: number;
  /** The margin an improvement must exceed. */
  readonly minDelta: number;
  /** Whether lower or higher is better. */
  readonly mode: 'min' | 'max';
  /** Whether the best weights are put back at the end. */
  readonly restoreBest: boolean;

  /** Checks `options`, naming a bad one (TypeError or RangeError). */
  constructor(options: EarlyStoppingOptions) {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw new TypeError(`earlyStopping must be an object such as { metric: 'valLoss', patience: 3 }, got ${describe(options)}`);
    }
    checkOptions(options, ['metric', 'patience', 'minDelta', 'mode', 'restoreBest'], 'earlyStopping');
    const metric = options.metric ?? 'valLoss';
    if (!EARLY_STOPPING_METRICS.includes(metric)) {
      throw new RangeError(`earlyStopping.metric must be one of ${EARLY_STOPPING_METRICS.join(', ')}, got ${describe(metric)}`);
    }
    this.metric = metric;
    this.patience = nonNegativeInt(options.patience ?? 3, 'earlyStopping.patience');
    const minDelta = options.minDelta ?? 0;
    if (typeof minDelta !== 'number' || !Number.isFinite(minDelta) || minDelta < 0) {
      throw new RangeError(`earlyStopping.minDelta must be a finite number >= 0, got ${describe(minDelta)}`);
    }
    this.minDelta = minDelta;
    const mode = options.mode ?? (metric === 'valLoss' ? 'min' : 'max');
    if (mode !== 'min' && mode !== 'max') throw new RangeError(`earlyStopping.mode must be 'min' or 'max', got ${describe(mode)}`);
    this.mode = mode;
    if (options.restoreBest !== undefined && typeof options.restoreBest !== 'boolean') {
      throw new TypeError(`earlyStopping.restoreBest must be a boolean, got ${describe(options.restoreBest)}`);
    }
    this.restoreBest = options.restoreBest ?? false;
  }

  /** Whether `value` improves on `best` by more than minDelta. */
  #better(value: number, best: number): boolean {
    return this.mode === 'min' ? value < best - this.minDelta : value > best + this.minDelta;
  }

  /**
   * The verdict after the last of `history`'s epochs. Epochs whose metric is null or NaN never
   * improve. Throws when `history` is empty.
   */
  observe(history: readonly EpochRecord[]): EarlyStoppingVerdict {
    if (history.length === 0) throw new RangeError('EarlyStopping.observe: no epochs yet');
    let bestIndex = -1;
    let best = NaN;
    for (const [i, record] of history.entries()) {
      const value = record[this.metric];
      if (value === null || Number.isNaN(value)) continue;
      if (bestIndex < 0 || this.#better(value, best)) {
        bestIndex = i;
        best = value;
      }
    }
    const last = history.length - 1;
    const since = bestIndex < 0 ? history.length : last - bestIndex;
    const bestEpoch = bestIndex < 0 ? -1 : history[bestIndex]!.epoch;
    const stop =
      since > 0 && since >= this.patience
        ? `${this.metric} did not improve on its best${bestIndex < 0 ? '' : ` (${best.toPrecision(4)} after epoch ${bestEpoch + 1})`} ` +
          `by more than ${this.minDelta} for ${since} epoch${since === 1 ? '' : 's'} (patience ${this.patience})`
        : null;
    return { improved: bestIndex === last, bestEpoch, best, stop };
  }
}
