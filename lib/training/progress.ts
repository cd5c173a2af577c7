/**
 * Progress output while training: a one-line bar redrawn in place on a terminal (images/s, loss,
 * accuracy, ETA), plain periodic lines elsewhere (logs, CI), epoch summaries only, or nothing.
 * Epoch summaries and notices are whole lines in every mode but 'none'.
 * @module
 */
import type { TextOutput } from '../io/output';
import { oneOf } from '../validate';

/**
 * How progress is shown: 'bar' (redrawn in place), 'lines' (periodic), 'epochs' (only epoch
 * summaries and notices), 'none' (nothing); 'auto' picks 'bar' on a terminal and 'lines' otherwise.
 */
export type ProgressMode = 'auto' | 'bar' | 'lines' | 'epochs' | 'none';

/** Every {@link ProgressMode}. */
export const PROGRESS_MODES: readonly ProgressMode[] = ['auto', 'bar', 'lines', 'epochs', 'none'];

/** Where training is, for the progress display. */
export interface ProgressState {
  epoch: number;
  epochs: number;
  /** Batches done in this epoch. */
  batch: number;
  batches: number;
  /** Mean training loss and top-1 of this epoch at the last read, if any yet. */
  loss: number | null;
  top1: number | null;
  lr: number;
  /** Training images per second over this epoch so far. */
  imagesPerSecond: number;
  /** Seconds left in the whole run, estimated. */
  etaSeconds: number | null;
}

/** What the Trainer tells the progress display. */
export interface ProgressReporter {
  /** After a step (cheap; the reporter decides when to draw). */
  update(state: ProgressState): void;
  /** A whole line (epoch summaries, notices). */
  line(text: string): void;
  /** Clears the bar. */
  close(): void;
}

/** m:ss or h:mm:ss. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

const num = (v: number | null, digits = 4) => (v === null || !Number.isFinite(v) ? '-' : v.toFixed(digits));

class BarProgress implements ProgressReporter {
  #lastDraw = 0;
  #drawn = false;
  constructor(readonly stream: TextOutput) {}

  update(state: ProgressState): void {
    const now = Date.now();
    if (now - this.#lastDraw < 100 && state.batch < state.batches) return;
    this.#lastDraw = now;
    const width = 20;
    const filled = Math.round((state.batch / state.batches) * width);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    let text =
      `epoch ${state.epoch + 1}/${state.epochs} ${bar} ${state.batch}/${state.batches}` +
      `  loss ${num(state.loss)}  acc ${num(state.top1, 3)}  ${Math.round(state.imagesPerSecond)} img/s` +
      `  ETA ${state.etaSeconds === null ? '?' : formatDuration(state.etaSeconds)}`;
    const columns = this.stream.columns ?? 120;
    if (text.length > columns - 1) text = text.slice(0, columns - 1);
    this.stream.write(`\r\x1b[2K${text}`);
    this.#drawn = true;
  }

  line(text: string): void {
    this.#clear();
    this.stream.write(`${text}\n`);
  }

  #clear(): void {
    if (this.#drawn) this.stream.write('\r\x1b[2K');
    this.#drawn = false;
    this.#lastDraw = 0;
  }

  close(): void {
    this.#clear();
  }
}

class LineProgress implements ProgressReporter {
  #last = Date.now();
  #lossShown = false;
  constructor(
    readonly stream: TextOutput,
    readonly intervalSeconds: number,
  ) {}

  update(state: ProgressState): void {
    const now = Date.now();
    // The first loss is shown as soon as it is known (on a CPU the interval can hold several steps).
    const firstLoss = state.loss !== null && !this.#lossShown;
    if (!firstLoss && now - this.#last < this.intervalSeconds * 1000) return;
    if (state.loss !== null) this.#lossShown = true;
    this.#last = now;
    this.stream.write(
      `epoch ${state.epoch + 1}/${state.epochs} batch ${state.batch}/${state.batches}: loss ${num(state.loss)} top1 ${num(state.top1)}` +
        ` lr ${state.lr.toPrecision(3)} ${Math.round(state.imagesPerSecond)} img/s eta ${state.etaSeconds === null ? '?' : formatDuration(state.etaSeconds)}\n`,
    );
  }

  line(text: string): void {
    this.stream.write(`${text}\n`);
  }

  close(): void {}
}

class EpochsOnly implements ProgressReporter {
  constructor(readonly stream: TextOutput) {}
  update(): void {}
  line(text: string): void {
    this.stream.write(`${text}\n`);
  }
  close(): void {}
}

class NoProgress implements ProgressReporter {
  update(): void {}
  line(): void {}
  close(): void {}
}

/** A reporter for `mode` writing to `stream`; plain lines at most every `intervalSeconds` (default 10). */
export function createProgress(mode: ProgressMode, stream: TextOutput, intervalSeconds = 10): ProgressReporter {
  oneOf(mode, PROGRESS_MODES, 'progress');
  const resolved = mode === 'auto' ? (stream.isTTY ? 'bar' : 'lines') : mode;
  if (resolved === 'bar') return new BarProgress(stream);
  if (resolved === 'lines') return new LineProgress(stream, intervalSeconds);
  if (resolved === 'epochs') return new EpochsOnly(stream);
  return new NoProgress();
}
