/**
 * What one epoch of training gave, and its one-line summary.
 * @module
 */

/** What one epoch gave. Accuracies are fractions; losses are mean cross-entropy. */
export interface EpochRecord {
  /** 0-based. */
  epoch: number;
  /** Mean training loss over the epoch (with dropout active, before each step's update). */
  trainLoss: number;
  /** Training top-1 accuracy over the epoch. */
  trainTop1: number;
  /** Training top-5 accuracy over the epoch. */
  trainTop5: number;
  /** Mean validation loss after the epoch, or null without a validation set. */
  valLoss: number | null;
  /** Validation top-1 accuracy after the epoch, or null. */
  valTop1: number | null;
  /** Validation top-5 accuracy after the epoch, or null. */
  valTop5: number | null;
  /** The learning rate of the epoch's last step. */
  lr: number;
  /** Optimizer steps at the end of the epoch. */
  steps: number;
  /** Wall time of the epoch: training and validation (of this process's part, after a resume). */
  seconds: number;
  /** Training images per second (this process's part). */
  imagesPerSecond: number;
}

function fmt(v: number | null, digits = 4): string {
  return v === null || !Number.isFinite(v) ? '-' : v.toFixed(digits);
}

/** One line per epoch. */
export function formatEpoch(r: EpochRecord, epochs: number): string {
  const val = r.valLoss === null ? '' : `  val loss ${fmt(r.valLoss)} top1 ${fmt(r.valTop1)} top5 ${fmt(r.valTop5)}`;
  return (
    `epoch ${r.epoch + 1}/${epochs}  train loss ${fmt(r.trainLoss)} top1 ${fmt(r.trainTop1)} top5 ${fmt(r.trainTop5)}${val}` +
    `  lr ${r.lr.toPrecision(3)}  ${r.seconds.toFixed(1)} s  ${Math.round(r.imagesPerSecond)} img/s`
  );
}
