/**
 * A folder of training checkpoints: names that sort by training position
 * (checkpoint-e<epoch>-s<step>.safetensors), atomic writes, and pruning that keeps the last N and
 * the best one (by the validation metric stored in each file's metadata). Pruning deletes only
 * checkpoints its run wrote: those this object wrote, and those whose metadata names its `run`.
 * @module
 */
import { readdir, rm, stat } from 'node:fs/promises';
import * as path from 'node:path';

import { fileError } from '../io/fileError';
import { openRegularFile } from '../io/readFile';
import { ensureDirectory, removeStaleTempFiles, syncDirectory, writeFileAtomic } from '../io/fileWriter';
import { options as checkOptions, positiveInt } from '../validate';

/** Metadata key holding a checkpoint's validation metric (higher is better). */
export const METRIC_KEY = 'alexnet-cuda.metric';

/** Metadata key holding the id of the training run that wrote a checkpoint (see runFolder.ts). */
export const RUN_KEY = 'alexnet-cuda.run';

/**
 * A checkpoint file in the folder, as {@link CheckpointDirectory.list} finds it. Not exported from
 * the package, so `@inline` shows its fields where it is used.
 * @inline
 */
export interface CheckpointEntry {
  /** Absolute path of the checkpoint-e<epoch>-s<step>.safetensors file. */
  file: string;
  /** The epoch training continues in from this checkpoint (completed epochs when saved at an epoch's end). */
  epoch: number;
  /** Optimizer steps taken. */
  step: number;
}

const NAME = /^checkpoint-e(\d+)-s(\d+)\.safetensors$/;

/** Whether a file name is a checkpoint's (checkpoint-e<epoch>-s<step>.safetensors). */
export function isCheckpointName(name: string): boolean {
  return NAME.test(name);
}

/** Reads only the metadata of a safetensors file (8-byte length, then the JSON header); undefined if unreadable. */
export async function readSafetensorsMetadata(file: string): Promise<Record<string, string> | undefined> {
  let handle;
  try {
    // Only regular files: a FIFO named like a checkpoint must not block the read.
    ({ handle } = await openRegularFile(file));
    const head = Buffer.alloc(8);
    if ((await handle.read(head, 0, 8, 0)).bytesRead !== 8) return undefined;
    const length = head.readBigUInt64LE(0);
    if (length > 100n * 1024n * 1024n) return undefined;
    const header = Buffer.alloc(Number(length));
    if ((await handle.read(header, 0, header.length, 8)).bytesRead !== header.length) return undefined;
    const parsed = JSON.parse(header.toString('utf8')) as { __metadata__?: Record<string, string> };
    return parsed.__metadata__ ?? {};
  } catch {
    return undefined;
  } finally {
    await handle?.close();
  }
}

/** Options of a {@link CheckpointDirectory}. */
export interface CheckpointDirectoryOptions {
  /** How many of the most recent checkpoints are kept (default 3; the best one is kept in addition). */
  keepLast?: number;
  /**
   * The training run whose checkpoints this folder writes: pruning may also delete checkpoints
   * whose metadata names this run (written by an earlier process of the same run). Default: none,
   * so only the checkpoints this object wrote are ever deleted.
   */
  run?: string;
}

/**
 * A folder of training checkpoints named checkpoint-e<epoch>-s<step>.safetensors (they sort by
 * training position), written atomically; each write prunes all but the last `keepLast` (default 3)
 * and the one with the best stored metric, among the checkpoints of its own run only (nothing
 * another run wrote is ever deleted). The constructor throws a TypeError for an empty path or an
 * unknown option and a RangeError for a `keepLast` that is not a positive integer.
 */
export class CheckpointDirectory {
  /** The folder, as an absolute path (it is created on the first write). */
  readonly dir: string;
  /** How many of the most recent checkpoints are kept (the best one is kept in addition). */
  readonly keepLast: number;
  /** The run whose checkpoints pruning may delete besides those written here, or null. */
  readonly run: string | null;
  readonly #written = new Set<string>();

  constructor(dir: string, options: CheckpointDirectoryOptions = {}) {
    if (typeof dir !== 'string' || dir.length === 0) throw new TypeError('checkpoint folder must be a path');
    const o = checkOptions(options, ['keepLast', 'run'], 'CheckpointDirectory options');
    const keepLast = positiveInt(o.keepLast ?? 3, 'keepLast');
    if (o.run !== undefined && (typeof o.run !== 'string' || o.run.length === 0)) throw new TypeError('run must be a non-empty string');
    this.dir = path.resolve(dir);
    this.keepLast = keepLast;
    this.run = o.run ?? null;
  }

  /** The file name for a position. */
  fileFor(epoch: number, step: number): string {
    return path.join(this.dir, `checkpoint-e${String(epoch).padStart(4, '0')}-s${String(step).padStart(9, '0')}.safetensors`);
  }

  /**
   * The checkpoints in the folder, oldest first, each as `{ file, epoch, step }`: its absolute path,
   * the epoch training continues in from it, and the optimizer steps taken.
   */
  async list(): Promise<CheckpointEntry[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    return names
      .map((name) => ({ name, m: NAME.exec(name) }))
      .filter((x) => x.m)
      .map(({ name, m }) => ({ file: path.join(this.dir, name), epoch: Number(m![1]), step: Number(m![2]) }))
      .sort((a, b) => a.step - b.step || a.epoch - b.epoch);
  }

  /** The most recent checkpoint (as {@link CheckpointDirectory.list} describes it), if any. */
  async latest(): Promise<CheckpointEntry | undefined> {
    return (await this.list()).at(-1);
  }

  /**
   * The checkpoint with the highest stored metric (the later one on a tie), if any has one: a
   * {@link CheckpointDirectory.list} entry plus its `metric`.
   */
  async best(): Promise<
    | (CheckpointEntry & {
        /** The stored validation metric (validation top-1 accuracy when the Trainer wrote it). */
        metric: number;
      })
    | undefined
  > {
    let best: (CheckpointEntry & { metric: number }) | undefined;
    for (const entry of await this.list()) {
      const value = Number((await readSafetensorsMetadata(entry.file))?.[METRIC_KEY]);
      if (Number.isFinite(value) && (!best || value >= best.metric)) best = { ...entry, metric: value };
    }
    return best;
  }

  /**
   * Writes a checkpoint for a position atomically, then prunes. Returns its path. Throws a
   * FileError naming the file or folder when it cannot be written.
   */
  async write(epoch: number, step: number, bytes: Uint8Array): Promise<string> {
    await ensureDirectory(this.dir);
    // Temporary files of saves killed mid-way (this run's or an earlier process's): garbage by now.
    await removeStaleTempFiles(this.dir, isCheckpointName);
    const file = this.fileFor(epoch, step);
    await writeFileAtomic(file, bytes);
    this.#written.add(file);
    await this.prune();
    return file;
  }

  /** Whether pruning may delete `file`: this object wrote it, or its metadata names this run. */
  async #ours(file: string): Promise<boolean> {
    if (this.#written.has(file)) return true;
    if (this.run === null) return false;
    return (await readSafetensorsMetadata(file))?.[RUN_KEY] === this.run;
  }

  /**
   * Deletes all but the last `keepLast` checkpoints and the best one, among this run's checkpoints
   * (see {@link CheckpointDirectory.run}); others are never deleted.
   */
  async prune(): Promise<void> {
    const entries: CheckpointEntry[] = [];
    for (const e of await this.list()) if (await this.#ours(e.file)) entries.push(e);
    if (entries.length <= this.keepLast) return;
    let best: CheckpointEntry | undefined;
    let bestMetric = -Infinity;
    for (const e of entries) {
      const value = Number((await readSafetensorsMetadata(e.file))?.[METRIC_KEY]);
      if (Number.isFinite(value) && value >= bestMetric) [best, bestMetric] = [e, value];
    }
    const keep = new Set(entries.slice(-this.keepLast).map((e) => e.file));
    if (best) keep.add(best.file);
    let removed = false;
    for (const e of entries) {
      if (keep.has(e.file)) continue;
      try {
        await rm(e.file, { force: true });
      } catch (error) {
        throw fileError('delete the old checkpoint', e.file, error);
      }
      this.#written.delete(e.file);
      removed = true;
    }
    if (removed) await syncDirectory(this.dir);
  }
}

/**
 * The checkpoint file `target` names: a file as is; for a folder, `model.safetensors` in it when
 * `prefer` is 'model' (the final weights `alexnet train` writes) and it exists, else the latest
 * checkpoint-*.safetensors. Throws an Error saying what was looked for when there is none.
 */
export async function resolveCheckpointFile(target: string, prefer: 'model' | 'latest' = 'latest'): Promise<string> {
  let isDir: boolean;
  try {
    isDir = (await stat(target)).isDirectory();
  } catch {
    throw new Error(`${target}: no such checkpoint file or folder`);
  }
  if (!isDir) return target;
  const model = path.join(target, 'model.safetensors');
  const latest = await new CheckpointDirectory(target).latest();
  const exists = async (f: string) =>
    stat(f).then(
      () => true,
      () => false,
    );
  if (prefer === 'model' && (await exists(model))) return model;
  if (latest) return latest.file;
  if (await exists(model)) return model;
  throw new Error(`${path.resolve(target)}: holds no checkpoint (model.safetensors or checkpoint-e*-s*.safetensors)`);
}
