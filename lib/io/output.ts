/**
 * Text output that cannot end the program. Progress lines and notices go to stdout, which may be a
 * pipe whose reader has gone: Ctrl-C on `alexnet train | tee log` ends tee too, and the next write
 * fails with EPIPE, which Node reports as an 'error' event that ends the process when nobody
 * listens, in the middle of saving the checkpoint Ctrl-C asked for. A {@link TolerantOutput}
 * listens for that error, stops writing once the stream is gone, and never throws.
 * @internal
 * @module
 */
/** Where text output goes: a stream's write, and whether it is a terminal (and how wide). */
export interface TextOutput {
  /** Writes text; never throws. */
  write(text: string): unknown;
  /** Whether it is a terminal (a progress bar is drawn only there). */
  readonly isTTY?: boolean | undefined;
  /** Its width in columns, when it is a terminal. */
  readonly columns?: number | undefined;
}

/**
 * A stream as the Trainer and the CLI are given one: process.stdout, a file stream or any Node
 * Writable fits. Spelled out (only what text output uses) rather than as Node's Writable, so that
 * the package's typings compile without @types/node.
 */
export interface OutputStream {
  /** Writes text (a Writable's write; its return value is not used). */
  write(text: string): unknown;
  /** Listens for the stream's 'error' events (a Writable's on). */
  on?(event: 'error', listener: (error: Error) => void): unknown;
  /** Stops listening (a Writable's removeListener). */
  removeListener?(event: 'error', listener: (error: Error) => void): unknown;
  /** Whether the stream was destroyed (no more writes). */
  readonly destroyed?: boolean;
  /** Whether the stream was ended (no more writes). */
  readonly writableEnded?: boolean;
  /** Whether it is a terminal. */
  readonly isTTY?: boolean | undefined;
  /** Its width, when a terminal. */
  readonly columns?: number | undefined;
}

/** Writes to a stream while it works, and silently stops when it fails or closes (see the module notes). */
export class TolerantOutput implements TextOutput {
  #failed = false;
  #released = false;
  readonly #onError = () => {
    this.#failed = true;
  };

  constructor(readonly stream: OutputStream) {
    if (typeof stream.on === 'function') stream.on('error', this.#onError);
  }

  /** Whether writes still go through (false once the stream failed or was closed). */
  get open(): boolean {
    return !this.#failed && !this.stream.destroyed && !this.stream.writableEnded;
  }

  get isTTY(): boolean {
    return this.stream.isTTY === true;
  }

  get columns(): number | undefined {
    return this.stream.columns;
  }

  /** Writes `text` if the stream still works; returns whether it was handed to the stream. */
  write(text: string): boolean {
    if (!this.open) return false;
    try {
      this.stream.write(text);
      return true;
    } catch {
      this.#failed = true;
      return false;
    }
  }

  /**
   * Stops listening for the stream's errors. A failure already seen keeps the listener (the stream
   * is dead and may still report errors for writes in flight); otherwise it is removed after the
   * errors of the last writes, which Node reports on the next tick, have had their turn.
   */
  release(): void {
    if (this.#released || typeof this.stream.removeListener !== 'function') return;
    this.#released = true;
    setImmediate(() => {
      if (!this.#failed) this.stream.removeListener?.('error', this.#onError);
    });
  }
}
