/**
 * Failures of the file system, reported the same way wherever they happen: one line naming what was
 * being done, the path, and the cause in words with its errno code, e.g.
 * `cannot write /data/run/metrics.jsonl: no space left on the device (ENOSPC)`.
 * @module
 */

/** A file or folder could not be read, written or created; the message names the path and the cause. */
export class FileError extends Error {
  /** Always 'FileError'. */
  override readonly name = 'FileError';
  /** Always 'ERR_FILE': a stable code to test instead of the message. */
  readonly code = 'ERR_FILE';
  constructor(
    message: string,
    /** The file or folder concerned. */
    readonly path: string,
    /** The system's error code ('ENOSPC', 'EACCES', ...), or null when the problem is not a system error (a FIFO where a file was expected). */
    readonly errno: string | null = null,
  ) {
    super(message);
  }
}

const CAUSES: Readonly<Record<string, string>> = Object.freeze({
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EISDIR: 'it is a folder',
  ENOTDIR: 'a part of the path is not a folder',
  ENOENT: 'no such file or folder',
  EEXIST: 'it already exists',
  EFBIG: 'the file would be too large',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links',
  EIO: 'input/output error',
  ENXIO: 'no reader at the other end',
  ETXTBSY: 'the file is busy',
  EBUSY: 'the device or resource is busy',
});

/** The cause of a system error in words, with its code: `no space left on the device (ENOSPC)`. */
export function describeCause(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string' && CAUSES[code]) return `${CAUSES[code]} (${code})`;
  const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
}

/**
 * A FileError for `action` ('write', 'read', 'create the folder', ...) on `file` that failed with
 * `error`; a FileError passes through unchanged.
 */
export function fileError(action: string, file: string, error: unknown): FileError {
  if (error instanceof FileError) return error;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return new FileError(`cannot ${action} ${file}: ${describeCause(error)}`, file, typeof code === 'string' ? code : null);
}

/** What a non-regular file is, in words ('a folder', 'a FIFO', ...), from its stats. */
export function fileKind(stats: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
  isFile(): boolean;
}): string {
  if (stats.isFile()) return 'a regular file';
  if (stats.isDirectory()) return 'a folder';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}
