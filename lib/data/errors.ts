/**
 * Errors of dataset loading. Messages name the file or folder and say what to do.
 * @module
 */

/** A dataset's files are not where they were looked for; the message says how to get them. */
export class DatasetNotFoundError extends Error {
  override readonly name = 'DatasetNotFoundError';
  readonly code = 'ERR_DATASET_NOT_FOUND';
  constructor(
    message: string,
    /** The places that were searched. */
    readonly searched: readonly string[] = [],
  ) {
    super(message);
  }
}

/** A dataset file exists but is not what its format says (truncated, wrong magic number, bad label). */
export class DatasetFormatError extends Error {
  override readonly name = 'DatasetFormatError';
  readonly code = 'ERR_DATASET_FORMAT';
}

/** A downloaded file's SHA-256 differs from the expected one; nothing was kept. */
export class ChecksumError extends Error {
  override readonly name = 'ChecksumError';
  readonly code = 'ERR_CHECKSUM';
  constructor(
    message: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(message);
  }
}
