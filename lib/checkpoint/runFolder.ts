/**
 * Runs own their checkpoint folders. Every training run has an id, stored in each checkpoint it
 * writes (metadata "alexnet-cuda.run"); a resumed run keeps the id of the checkpoint it resumes.
 * Before a run writes anything, it claims its folder:
 *
 * - an empty or missing folder, or one holding only this run's files, is taken as is;
 * - a folder holding another run's files (checkpoints, or the model, metrics log and curves a run
 *   leaves there) is refused with a {@link RunFolderError}, unless the run is told to overwrite:
 *   then those files move into a `replaced-<time>` subfolder. Nothing is deleted that the current
 *   run did not write.
 *
 * So a second `alexnet train` can no longer prune the first one's checkpoints, append to its
 * metrics, or make `--resume` pick up the wrong run.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename } from 'node:fs/promises';
import * as path from 'node:path';

import { fileError } from '../io/fileError';
import { syncDirectory } from '../io/fileWriter';
import { isCheckpointName, readSafetensorsMetadata, RUN_KEY } from './directory';

/** A new run id: the start time (UTC, to the second) and 6 random hex digits, e.g. 20261129T152533-3fa9c1. */
export function newRunId(): string {
  const time = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15);
  return `${time}-${randomBytes(3).toString('hex')}`;
}

/** A checkpoint folder holds another training run; the message says what it holds and what to do. */
export class RunFolderError extends Error {
  /** Always 'RunFolderError'. */
  override readonly name = 'RunFolderError';
  /** Always 'ERR_RUN_FOLDER'. */
  readonly code = 'ERR_RUN_FOLDER';
  constructor(
    message: string,
    /** The folder (absolute path). */
    readonly dir: string,
    /** The other run's files in it (names). */
    readonly files: readonly string[],
  ) {
    super(message);
  }
}

/** Options of {@link claimRunFolder}. */
export interface ClaimOptions {
  /** The id of the run claiming the folder. */
  run: string;
  /** Whether the run continues from a checkpoint (then files without a run id are taken as its own). */
  resuming: boolean;
  /** Move another run's files into a `replaced-<time>` subfolder instead of refusing the folder. */
  overwrite: boolean;
  /** Besides checkpoints, the names of files a run leaves in the folder (model, metrics log, curves). */
  runFiles: readonly string[];
}

/** What {@link claimRunFolder} did. */
export interface ClaimResult {
  /** Where another run's files were moved (with `overwrite`), or null when nothing was moved. */
  movedTo: string | null;
  /** The names of the files moved. */
  moved: string[];
}

/**
 * Claims `dir` for a run (see the module notes): returns at once for a folder that is missing,
 * empty or holds only this run's files; moves another run's files aside with `overwrite`; throws a
 * {@link RunFolderError} otherwise, and a FileError when the folder cannot be read or changed.
 */
export async function claimRunFolder(dir: string, options: ClaimOptions): Promise<ClaimResult> {
  const absolute = path.resolve(dir);
  let names: string[];
  try {
    names = await readdir(absolute);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { movedTo: null, moved: [] };
    throw fileError('read the folder', absolute, error);
  }
  const checkpoints = names.filter(isCheckpointName).sort();
  const others = names.filter((n) => options.runFiles.includes(n));
  if (checkpoints.length === 0 && others.length === 0) return { movedTo: null, moved: [] };

  let foreign: string[] = [];
  if (options.resuming) {
    // A resumed run owns checkpoints with its id or with none (written before runs had ids).
    for (const name of checkpoints) {
      const run = (await readSafetensorsMetadata(path.join(absolute, name)))?.[RUN_KEY];
      if (run !== undefined && run !== options.run) foreign.push(name);
    }
    if (foreign.length > 0) foreign = [...checkpoints, ...others];
  } else {
    foreign = [...checkpoints, ...others];
  }
  if (foreign.length === 0) return { movedTo: null, moved: [] };

  if (!options.overwrite) {
    const count = foreign.filter(isCheckpointName).length;
    const what = [
      count > 0 ? `${count} checkpoint${count === 1 ? '' : 's'} up to ${foreign.filter(isCheckpointName).at(-1)}` : '',
      ...foreign.filter((n) => !isCheckpointName(n)),
    ]
      .filter((s) => s.length > 0)
      .join(', ');
    throw new RunFolderError(`${absolute} holds another training run (${what})`, absolute, foreign);
  }
  // A new subfolder each time: moving into an existing one could replace files moved there before.
  const stamp = new Date().toISOString().replace(/[-:]/g, '');
  let movedTo = path.join(absolute, `replaced-${stamp}`);
  for (let i = 2; names.includes(path.basename(movedTo)); i++) movedTo = path.join(absolute, `replaced-${stamp}-${i}`);
  try {
    await mkdir(movedTo);
  } catch (error) {
    throw fileError('create the folder', movedTo, error);
  }
  for (const name of foreign) {
    try {
      await rename(path.join(absolute, name), path.join(movedTo, name));
    } catch (error) {
      throw fileError(`move ${name} into`, movedTo, error);
    }
  }
  await syncDirectory(absolute);
  return { movedTo, moved: foreign };
}
