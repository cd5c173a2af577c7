/**
 * Loss and top-1 / top-5 accuracy accumulated on the device, so a training step never waits for
 * the host: each step adds batch * mean loss (ops.addScaled) and the correct counts
 * (ops.countTopkCorrect) into one-element device tensors, and the host reads them back only at
 * logging points. A read is enqueued like any op, so it sees exactly the steps queued before it.
 * @module
 */
import type { Backend } from '../backend/backend';
import { addScaled } from '../ops/elementwise';
import { countTopkCorrect } from '../ops/loss';
import { Tensor } from '../tensor';

/** Means over the samples counted so far. */
export interface MetricValues {
  /** Mean cross-entropy. */
  loss: number;
  /** Fraction whose label is the top class. */
  top1: number;
  /** Fraction whose label is among the top five (top-k for fewer than five classes). */
  top5: number;
  /** Samples counted. */
  count: number;
}

/** The raw sums (what a checkpoint stores to resume mid-epoch). */
export interface MetricSums {
  lossSum: number;
  top1: number;
  top5: number;
  count: number;
}

/** Device-side sums of loss and top-1/top-5 counts; see the module notes. */
export class DeviceMetrics {
  readonly #lossSum: Tensor;
  readonly #top1: Tensor;
  readonly #top5: Tensor;
  readonly #k5: number;
  #count = 0;

  /** Accumulators on `backend`, starting from `sums` (zero by default). */
  constructor(backend: Backend, numClasses: number, sums?: MetricSums) {
    const start = sums ?? { lossSum: 0, top1: 0, top5: 0, count: 0 };
    this.#lossSum = Tensor.fromArray(new Float32Array([start.lossSum]), [1], { backend });
    this.#top1 = Tensor.fromArray(new Float32Array([start.top1]), [1], { backend });
    this.#top5 = Tensor.fromArray(new Float32Array([start.top5]), [1], { backend });
    this.#count = start.count;
    this.#k5 = Math.min(5, numClasses);
  }

  /** Samples added so far. */
  get count(): number {
    return this.#count;
  }

  /** Adds a batch: its mean `loss` (one element), `logits` [N, classes] and int32 `labels` [N]. */
  add(loss: Tensor, logits: Tensor, labels: Tensor): void {
    const n = labels.shape[0]!;
    addScaled(this.#lossSum, loss, n);
    countTopkCorrect(logits, labels, 1, this.#top1);
    countTopkCorrect(logits, labels, this.#k5, this.#top5);
    this.#count += n;
  }

  /** Reads the sums (waits for the steps queued so far, without blocking the event loop). */
  async sums(): Promise<MetricSums> {
    const count = this.#count;
    const [loss, top1, top5] = await Promise.all([this.#lossSum.toArray(), this.#top1.toArray(), this.#top5.toArray()]);
    return { lossSum: loss[0]!, top1: top1[0]!, top5: top5[0]!, count };
  }

  /** Reads the means. */
  async read(): Promise<MetricValues> {
    return meansOf(await this.sums());
  }

  dispose(): void {
    this.#lossSum.dispose();
    this.#top1.dispose();
    this.#top5.dispose();
  }
}

/** Means from sums (NaN with nothing counted). */
export function meansOf(s: MetricSums): MetricValues {
  const n = s.count;
  return { loss: s.lossSum / n, top1: s.top1 / n, top5: s.top5 / n, count: n };
}
