/**
 * Errors of dataset loading. Messages name the file or folder and say what to do.
 * @module
 */

/** A dataset's files are not where they were looked for; the message says how to get them. */
export class DatasetNotFoundError extends Error {
  /** Always 'DatasetNotFoundError'. */
  override readonly name = 'DatasetNotFoundError';
  /** Always 'ERR_DATASET_NOT_FOUND'. */
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
  /** Always 'DatasetFormatError'. */
  override readonly name = 'DatasetFormatError';
  /** Always 'ERR_DATASET_FORMAT'. */
  readonly code = 'ERR_DATASET_FORMAT';
}

/** A downloaded file's SHA-256 differs from the expected one; nothing was kept. */
export class ChecksumError extends Error {
  /** Always 'ChecksumError'. */
  override readonly name = 'ChecksumError';
  /** Always 'ERR_CHECKSUM'. */
  readonly code = 'ERR_CHECKSUM';
  constructor(
    message: string,
    /** The SHA-256 (hex) the file should have. */
    readonly expected: string,
    /** The SHA-256 (hex) it had (empty when it could not be computed). */
    readonly actual: string,
  ) {
    super(message);
  }
}
