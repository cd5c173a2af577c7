/**
 * The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a 4-byte magic
 * number (two zero bytes, a type code, the number of dimensions), each dimension as a big-endian
 * 32-bit integer, then the values. Files may be gzip-compressed (detected by gzip's magic bytes).
 * Only unsigned bytes (type 0x08) are read: that is what every published IDX dataset uses.
 *
 * Limits before work: a compressed file inflates to at most what its own header declares, and
 * never to more than maxDecompressedBytes (see limits.ts), so a small .gz cannot fill memory.
 * @module
 */
import { promisify } from 'node:util';
import { constants as zlib, gunzip, gunzipSync } from 'node:zlib';

import { readRegularFile } from '../io/readFile';
import { getLimits, raiseHint } from '../limits';
import { ArrayDataset } from './arrayDataset';
import { DatasetFormatError } from './errors';

const gunzipAsync = promisify(gunzip);

/** An IDX array: its dimensions and values. */
export interface IdxArray {
  /** The dimensions, outermost first ([N, H, W] for MNIST images, [N] for labels). */
  dims: number[];
  /** The values, row-major. */
  data: Uint8Array;
}

/** Whether bytes start with gzip's magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Parses IDX bytes (already decompressed); `source` names them in errors. */
export function parseIdx(bytes: Uint8Array, source = 'IDX data'): IdxArray {
  const fail = (why: string): never => {
    throw new DatasetFormatError(`${source}: ${why}`);
  };
  if (bytes.length < 4) fail(`${bytes.length} bytes is too short for an IDX header`);
  if (bytes[0] !== 0 || bytes[1] !== 0) fail('not an IDX file (the magic number must start with two zero bytes)');
  const type = bytes[2]!;
  if (type !== 0x08) fail(`IDX type 0x${type.toString(16).padStart(2, '0')} is not supported (expected 0x08, unsigned bytes)`);
  const ndim = bytes[3]!;
  if (ndim < 1) fail('IDX file declares zero dimensions');
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) fail(`truncated header: ${ndim} dimensions need ${headerBytes} bytes, the file has ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== headerBytes + count) {
    fail(`dimensions [${dims.join(', ')}] need ${count} bytes of data, the file has ${bytes.length - headerBytes}: truncated or damaged`);
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

/** The size an IDX header declares (header plus data), or null when `head` does not hold the whole header. */
function declaredSize(head: Uint8Array): number | null {
  if (head.length < 4) return null;
  const headerBytes = 4 + 4 * head[3]!;
  if (head.length < headerBytes) return null;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let count = 1;
  for (let i = 0; i < head[3]!; i++) count *= view.getUint32(4 + 4 * i, false);
  return headerBytes + count;
}

/**
 * Inflates gzip data to at most what the IDX header inside declares (read from the first
 * kilobytes) and at most maxDecompressedBytes; a DatasetFormatError names the file and the limit.
 */
async function inflateIdx(bytes: Uint8Array, file: string): Promise<Uint8Array> {
  const max = getLimits().maxDecompressedBytes;
  let head: Uint8Array = new Uint8Array(0);
  try {
    // A prefix inflated with a sync flush gives the output so far without needing the rest.
    head = gunzipSync(bytes.subarray(0, 4096), { finishFlush: zlib.Z_SYNC_FLUSH });
  } catch {
    // damaged from the start: the full inflate below says so
  }
  const declared = declaredSize(head);
  if (declared !== null && declared > max) {
    throw new DatasetFormatError(
      `${file}: its header declares ${declared.toLocaleString('en-US')} bytes, more than the limit of ` +
        `${max.toLocaleString('en-US')} (maxDecompressedBytes; ${raiseHint('maxDecompressedBytes')})`,
    );
  }
  const cap = declared ?? max;
  try {
    return await gunzipAsync(bytes, { maxOutputLength: cap });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new DatasetFormatError(
        declared !== null
          ? `${file}: inflates to more than the ${declared.toLocaleString('en-US')} bytes its header declares: damaged, or a decompression bomb`
          : `${file}: inflates to more than the limit of ${max.toLocaleString('en-US')} bytes (maxDecompressedBytes; ${raiseHint('maxDecompressedBytes')})`,
      );
    }
    throw new DatasetFormatError(`${file}: gzip data is damaged (${(error as Error).message})`);
  }
}

/**
 * Reads an IDX file, gzip-compressed or raw; only a regular file is read, and a compressed one
 * inflates within the limits of the module notes.
 */
export async function readIdxFile(file: string): Promise<IdxArray> {
  let bytes: Uint8Array;
  try {
    bytes = await readRegularFile(file, {
      what: 'IDX file',
      maxBytes: getLimits().maxDecompressedBytes,
      limitName: 'maxDecompressedBytes',
    });
  } catch (error) {
    throw new DatasetFormatError((error as Error).message);
  }
  if (isGzip(bytes)) bytes = await inflateIdx(bytes, file);
  return parseIdx(bytes, file);
}

/**
 * A dataset from an IDX image file ([N, H, W] or [N, C, H, W]) and an IDX label file ([N]);
 * `classes` defaults to '0', '1', ... up to the largest label.
 */
export async function loadIdxDataset(imagesFile: string, labelsFile: string, classes?: readonly string[]): Promise<ArrayDataset> {
  const [images, labels] = await Promise.all([readIdxFile(imagesFile), readIdxFile(labelsFile)]);
  if (images.dims.length !== 3 && images.dims.length !== 4) {
    throw new DatasetFormatError(`${imagesFile}: expected images of shape [N, H, W] or [N, C, H, W], got [${images.dims.join(', ')}]`);
  }
  if (labels.dims.length !== 1)
    throw new DatasetFormatError(`${labelsFile}: expected labels of shape [N], got [${labels.dims.join(', ')}]`);
  const n = images.dims[0]!;
  if (labels.dims[0] !== n) {
    throw new DatasetFormatError(`${imagesFile} holds ${n} images but ${labelsFile} holds ${labels.dims[0]} labels`);
  }
  const shape = (images.dims.length === 3 ? [1, images.dims[1]!, images.dims[2]!] : images.dims.slice(1)) as [number, number, number];
  let max = 0;
  for (const l of labels.data) max = Math.max(max, l);
  const names = classes ?? Array.from({ length: max + 1 }, (_, i) => String(i));
  if (max >= names.length) {
    throw new DatasetFormatError(`${labelsFile}: label ${max} is outside the ${names.length} classes`);
  }
  return new ArrayDataset({ images: images.data, labels: labels.data, shape, classes: names });
}
