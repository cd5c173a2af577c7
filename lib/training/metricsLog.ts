/**
 * The JSON-lines metrics log: one JSON object per line, appended as training goes ({"type":
 * "step", ...} at logging points, {"type": "epoch", ...} after each epoch, and "start", "resume"
 * and "end" events), so a resumed run continues the same file and any tool can tail it.
 * @module
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';

/** An append-only JSON-lines file; see the module notes. */
export class MetricsLog {
  readonly file: string;
  #handle: Promise<FileHandle> | null = null;
  #chain: Promise<void> = Promise.resolve();

  constructor(file: string) {
    if (typeof file !== 'string' || file.length === 0) throw new TypeError('metrics log must be a file path');
    this.file = path.resolve(file);
  }

  /** Appends one record (with a timestamp); writes happen in order, in the background. */
  write(record: Record<string, unknown>): void {
    const line = `${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`;
    this.#handle ??= mkdir(path.dirname(this.file), { recursive: true }).then(() => open(this.file, 'a'));
    const handle = this.#handle;
    this.#chain = this.#chain.then(async () => {
      await (await handle).appendFile(line);
    });
  }

  /** Waits for pending writes and closes the file; throws the first write error. */
  async close(): Promise<void> {
    try {
      await this.#chain;
    } finally {
      const handle = this.#handle;
      this.#handle = null;
      if (handle) await (await handle).close();
    }
  }
}
