/**
 * How long a run has left, from steps that have finished on the device. Steps are only queued when
 * the host moves on (the device runs up to two behind), so timing the first steps as they are
 * queued measures almost nothing and gave ETAs several times too short; the first finished step
 * also carries one-time costs (memory, algorithm choices). So the rate is taken between the first
 * finished step and the latest, and no estimate is given before `minSteps` steps have finished.
 * @module
 */

/** Estimates the time left from finished steps; see the module notes. */
export class RunEstimate {
  #first: { time: number; images: number } | null = null;
  #last: { time: number; images: number } | null = null;
  #finished = 0;

  constructor(
    /** Training images the whole run (this call of fit) still has to go through at the start. */
    readonly totalImages: number,
    /** Finished steps needed before an estimate is given (default 3). */
    readonly minSteps = 3,
  ) {}

  /** Records that the step bringing the run to `images` images has finished, at `now` (ms). */
  finished(images: number, now = performance.now()): void {
    this.#finished++;
    if (!this.#first) this.#first = { time: now, images };
    this.#last = { time: now, images };
  }

  /** Steps finished so far. */
  get finishedSteps(): number {
    return this.#finished;
  }

  /** Images per second over the finished steps after the first, or null before `minSteps` have finished. */
  get imagesPerSecond(): number | null {
    if (this.#finished < this.minSteps || !this.#first || !this.#last) return null;
    const seconds = (this.#last.time - this.#first.time) / 1000;
    const images = this.#last.images - this.#first.images;
    return seconds > 0 && images > 0 ? images / seconds : null;
  }

  /** Seconds the run needs for its remaining images, or null before an estimate can be given. */
  secondsLeft(): number | null {
    const rate = this.imagesPerSecond;
    if (rate === null || !this.#last) return null;
    return Math.max(this.totalImages - this.#last.images, 0) / rate;
  }
}
