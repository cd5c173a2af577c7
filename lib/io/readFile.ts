/**
 * Reading the files a user points at (checkpoints, datasets, images, PyTorch files) safely: only
 * regular files are read, and their real size is known before anything is allocated.
 *
 * Why not fs.readFile: opening a FIFO for reading blocks until a writer appears, and a blocked open
 * holds one of libuv's four pool threads; four such loads stop every later file read, `toArray()`
 * and even process exit. A character device such as /dev/zero reads without end. So files are
 * opened with O_NONBLOCK (which makes opening a FIFO return at once and changes nothing for
 * regular files), checked with fstat, and read only when they are regular and within the limit.
 * @module
 */
import { constants } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';

import { FileError, fileError, fileKind } from './fileError';

/** An open regular file and its size. Close `handle` when done. */
export interface RegularFile {
  /** The open file. */
  handle: FileHandle;
  /** Its size in bytes, as fstat gave it. */
  size: number;
}

/**
 * Opens `file` for reading when it is a regular file (symbolic links are followed); otherwise, or
 * when it cannot be opened, throws a FileError naming the path and the reason (`not a regular
 * file: a FIFO (named pipe)`, `no such file or folder (ENOENT)`, ...).
 */
export async function openRegularFile(file: string): Promise<RegularFile> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw fileError('read', file, error);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new FileError(`cannot read ${file}: it is ${fileKind(stats)}, not a regular file`, file);
    return { handle, size: stats.size };
  } catch (error) {
    await handle.close().catch(() => {});
    throw fileError('read', file, error);
  }
}

/** Options of {@link readRegularFile}. */
export interface ReadOptions {
  /** Refuse files larger than this many bytes (default: what one Buffer can hold). */
  maxBytes?: number;
  /** What the file is, for the message when it is too large ('checkpoint', 'image', ...). */
  what?: string;
  /** The name of the limit to mention when the file is too large (e.g. `maxDecompressedBytes`). */
  limitName?: string;
}

const MAX_BUFFER = 2 ** 31 - 1; // fs reads at most 2 GiB - 1 at once; and no more is read into one Buffer here

/**
 * Reads a whole regular file (see the module notes); throws a FileError naming the path when it
 * is not a regular file, cannot be read, is larger than `maxBytes`, or shrinks while being read.
 */
export async function readRegularFile(file: string, options: ReadOptions = {}): Promise<Buffer> {
  const limit = Math.min(options.maxBytes ?? MAX_BUFFER, MAX_BUFFER);
  const { handle, size } = await openRegularFile(file);
  try {
    if (size > limit) {
      const name = options.limitName ? ` (${options.limitName})` : '';
      throw new FileError(
        `cannot read ${file}: the ${options.what ?? 'file'} is ${size.toLocaleString('en-US')} bytes, more than the limit of ${limit.toLocaleString('en-US')}${name}`,
        file,
      );
    }
    const buffer = Buffer.allocUnsafe(size);
    let at = 0;
    while (at < size) {
      const { bytesRead } = await handle.read(buffer, at, size - at, at);
      if (bytesRead === 0) throw new FileError(`cannot read ${file}: it shrank from ${size} to ${at} bytes while being read`, file);
      at += bytesRead;
    }
    return buffer;
  } catch (error) {
    throw fileError('read', file, error);
  } finally {
    await handle.close().catch(() => {});
  }
}

/**
 * Checks, without opening it, that `file` is a regular file (for readers such as libvips that open
 * the path themselves); throws a FileError naming the path otherwise.
 */
export async function checkRegularFile(file: string): Promise<void> {
  let stats;
  try {
    stats = await stat(file);
  } catch (error) {
    throw fileError('read', file, error);
  }
  if (!stats.isFile()) throw new FileError(`cannot read ${file}: it is ${fileKind(stats)}, not a regular file`, file);
}
