/**
 * Stopping on a diverged run: the Trainer reads its metrics only now and then (reading every step's
 * loss would make the host wait for the device), so it keeps each step's loss tensor until the next
 * read. When the running sum is no longer finite, the kept losses name the first bad step.
 * @module
 */
import type { Tensor } from '../tensor';
import type { MetricSums } from './metrics';

/** Training stopped because the loss became NaN or infinite. */
export class TrainingDivergedError extends Error {
  /** Always 'TrainingDivergedError'. */
  override readonly name = 'TrainingDivergedError';
  /** Always 'ERR_TRAINING_DIVERGED'. */
  readonly code = 'ERR_TRAINING_DIVERGED';
  constructor(
    message: string,
    /** The optimizer step (1-based) whose loss was first not finite. */
    readonly step: number,
    /** Its epoch (0-based). */
    readonly epoch: number,
    /** Its batch within the epoch (0-based). */
    readonly batch: number,
  ) {
    super(message);
  }
}

/** The losses of the steps since the last metrics read, kept to name the first non-finite one. */
export class DivergenceWatch {
  #recent: { step: number; batch: number; loss: Tensor }[] = [];

  /** Keeps a step's loss (the watch disposes it). */
  record(step: number, batch: number, loss: Tensor): void {
    this.#recent.push({ step, batch, loss });
  }

  /** How many losses are kept (a metrics read started now covers this many). */
  get pending(): number {
    return this.#recent.length;
  }

  /**
   * Checks a metrics read that covers the first `upTo` kept losses: throws a TrainingDivergedError
   * naming the first bad step when the sum is not finite, else releases those losses.
   */
  async check(sums: MetricSums, upTo: number, where: { epoch: number; lr: number; steps: number }): Promise<void> {
    const kept = this.#recent.slice(0, upTo);
    this.#recent = this.#recent.slice(upTo);
    if (Number.isFinite(sums.lossSum)) {
      for (const r of kept) r.loss.dispose();
      return;
    }
    this.#recent = kept.concat(this.#recent); // dispose() still owns them
    for (const r of kept) {
      const value = (await r.loss.toArray())[0]!;
      if (!Number.isFinite(value)) {
        throw new TrainingDivergedError(
          `the training loss became ${value} at step ${r.step} (epoch ${where.epoch + 1}, batch ${r.batch}, lr ${where.lr}): ` +
            `lower the learning rate, or check the data`,
          r.step,
          where.epoch,
          r.batch,
        );
      }
    }
    throw new TrainingDivergedError(`the training loss became non-finite before step ${where.steps}`, where.steps, where.epoch, 0);
  }

  /** Releases every kept loss. */
  dispose(): void {
    for (const r of this.#recent) r.loss.dispose();
    this.#recent = [];
  }
}
