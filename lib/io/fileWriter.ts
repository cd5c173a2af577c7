/**
 * The one way the library writes files: checkpoints, model files, ONNX exports, training curves,
 * downloads (atomically, {@link writeFileAtomic}), the metrics log (appended, {@link AppendFile}),
 * and the folders they go in ({@link ensureDirectory}). Every failure is a {@link FileError} whose
 * message names the file and the cause (`cannot write /data/ck.safetensors: no space left on the
 * device (ENOSPC)`), never a bare errno or a stack of internals.
 *
 * Atomic replacement: write a temporary file in the same folder, fsync it, rename it over the
 * target, then fsync the folder so the rename itself is durable. A reader (or a later run after a
 * crash or SIGKILL at any moment) sees either the old file or the new one, never a mix. The
 * temporary file of a write killed mid-way is removed by the next write of the same target (or by
 * {@link removeStaleTempFiles}), so kills leave at most one stale temporary file per target.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

import { describe } from '../validate';
import { FileError, fileError, fileKind } from './fileError';

const TEMP_SUFFIX = '.tmp';
/** .<target name>.<pid>.<8 hex digits>.tmp */
const TEMP_NAME = /^\.(.+)\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/** The temporary name used while writing `file`: hidden, in the same folder, unique per call. */
function tempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`);
}

const codeOf = (error: unknown) => (error as NodeJS.ErrnoException | null)?.code;

/**
 * Creates `dir` and any missing parents; throws a FileError naming the folder and the cause.
 * (Node's own recursive mkdir spins forever where a file system refuses new folders, as /proc does.)
 */
export async function ensureDirectory(dir: string): Promise<void> {
  const absolute = path.resolve(dir);
  const missing: string[] = [];
  for (let at = absolute; ; at = path.dirname(at)) {
    let stats;
    try {
      stats = await fs.stat(at);
    } catch (error) {
      if (codeOf(error) !== 'ENOENT') throw fileError('create the folder', absolute, error);
      missing.push(at);
      if (path.dirname(at) === at) break;
      continue;
    }
    if (!stats.isDirectory()) {
      throw new FileError(`cannot create the folder ${absolute}: ${at} is ${fileKind(stats)}, not a folder`, absolute, 'ENOTDIR');
    }
    break;
  }
  for (const folder of missing.reverse()) {
    try {
      await fs.mkdir(folder);
    } catch (error) {
      if (
        codeOf(error) === 'EEXIST' &&
        (await fs.stat(folder).then(
          (s) => s.isDirectory(),
          () => false,
        ))
      )
        continue;
      throw fileError('create the folder', folder, error);
    }
  }
}

/** fsyncs a folder so a rename or unlink in it survives a power loss (a no-op where folders cannot be opened). */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (error) {
    // Windows cannot open folders; some file systems refuse fsync on them. The rename is still atomic.
    const code = codeOf(error);
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') throw fileError('sync the folder', dir, error);
  } finally {
    await handle?.close();
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return codeOf(error) === 'EPERM';
  }
}

/**
 * Removes the temporary files that writes killed mid-way (by SIGKILL, a crash, a power loss) left
 * in `dir`: only those whose writing process is gone, and, when `target` is given, only those of
 * targets it accepts (a target's file name). Returns the names removed.
 */
export async function removeStaleTempFiles(dir: string, target: (name: string) => boolean = () => true): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = TEMP_NAME.exec(name);
    if (!match || !target(match[1]!)) continue;
    const pid = Number(match[2]);
    if (pid === process.pid || processAlive(pid)) continue;
    await fs.rm(path.join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * Writes `data` to `file` atomically and durably (see the module notes). The folder must exist
 * (see {@link ensureDirectory}). Throws a FileError naming `file` and the cause.
 */
export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  if (typeof file !== 'string' || file.length === 0) throw new TypeError(`file must be a path, got ${describe(file)}`);
  const base = path.basename(file);
  await removeStaleTempFiles(path.dirname(file), (name) => name === base);
  const tmp = tempName(file);
  try {
    const handle = await fs.open(tmp, 'wx', 0o644);
    try {
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(tmp, file);
    } catch (error) {
      await fs.rm(tmp, { force: true }).catch(() => {});
      throw error;
    }
    await syncDirectory(path.dirname(file));
  } catch (error) {
    throw fileError('write', file, error);
  }
}

/**
 * A file appended to in the background, line by line (the metrics log): appends are queued in
 * order; the first failure is kept, and {@link AppendFile.append} and {@link AppendFile.close}
 * throw it as a FileError naming the file, so no failure goes unobserved or unreported.
 */
export class AppendFile {
  #chain: Promise<void> = Promise.resolve();
  #failure: FileError | null = null;
  #closed = false;

  private constructor(
    /** The file, as an absolute path. */
    readonly file: string,
    readonly handle: fs.FileHandle,
  ) {}

  /**
   * Opens `file` for appending, creating it and its folder as needed. Regular files and character
   * devices (/dev/null) are accepted; a folder, FIFO or socket is a FileError, as is any failure.
   */
  static async open(file: string): Promise<AppendFile> {
    const absolute = path.resolve(file);
    await ensureDirectory(path.dirname(absolute));
    let handle: fs.FileHandle;
    try {
      // O_NONBLOCK: opening a FIFO without a reader fails at once instead of blocking a pool thread.
      handle = await fs.open(absolute, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK, 0o644);
    } catch (error) {
      throw fileError('write', absolute, error);
    }
    const stats = await handle.stat().catch(() => null);
    if (stats && !stats.isFile() && !stats.isCharacterDevice()) {
      await handle.close().catch(() => {});
      throw new FileError(`cannot write ${absolute}: it is ${fileKind(stats)}, not a regular file`, absolute);
    }
    return new AppendFile(absolute, handle);
  }

  /** The first failure, if any. */
  get failure(): FileError | null {
    return this.#failure;
  }

  /** Queues `text` for appending; throws the first earlier failure, if any. */
  append(text: string): void {
    if (this.#failure) throw this.#failure;
    if (this.#closed) throw new FileError(`cannot write ${this.file}: it has been closed`, this.file);
    this.#chain = this.#chain.then(async () => {
      if (this.#failure) return;
      try {
        await this.handle.appendFile(text);
      } catch (error) {
        this.#failure = fileError('write', this.file, error);
      }
    });
  }

  /** Waits for the queued appends; throws the first failure. */
  async flush(): Promise<void> {
    await this.#chain;
    if (this.#failure) throw this.#failure;
  }

  /** Waits for the queued appends and closes the file; throws the first failure. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#chain;
    } finally {
      await this.handle.close().catch(() => {});
    }
    if (this.#failure) throw this.#failure;
  }
}
