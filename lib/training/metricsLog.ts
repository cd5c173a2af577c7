/**
 * The JSON-lines metrics log: one JSON object per line, appended as training goes ({"type":
 * "step", ...} at logging points, {"type": "epoch", ...} after each epoch, and "start", "resume"
 * and "end" events), so a resumed run continues the same file and any tool can tail it.
 *
 * The file is opened before training starts (an unwritable path fails the run at once, naming the
 * file and the cause); a write that fails later (a full disk) is reported by the next
 * {@link MetricsLog.write} or by {@link MetricsLog.close}, never left unobserved.
 * @module
 */
import * as path from 'node:path';

import { AppendFile } from '../io/fileWriter';

/** An append-only JSON-lines file; see the module notes. */
export class MetricsLog {
  readonly file: string;
  #file: AppendFile | null = null;

  constructor(file: string) {
    if (typeof file !== 'string' || file.length === 0) throw new TypeError('metrics log must be a file path');
    this.file = path.resolve(file);
  }

  /** Opens (or creates) the file; throws a FileError naming it when it cannot be written. */
  async open(): Promise<void> {
    this.#file ??= await AppendFile.open(this.file);
  }

  /** Appends one record (with a timestamp) in the background; throws an earlier write's failure. */
  write(record: Record<string, unknown>): void {
    if (!this.#file) throw new Error(`the metrics log ${this.file} is not open`);
    this.#file.append(`${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`);
  }

  /** Waits for the records written so far to reach the file; throws the first write failure. */
  async flush(): Promise<void> {
    await this.#file?.flush();
  }

  /** Waits for pending writes and closes the file; throws the first write failure. */
  async close(): Promise<void> {
    const file = this.#file;
    this.#file = null;
    await file?.close();
  }
}
