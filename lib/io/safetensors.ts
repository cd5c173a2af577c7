/**
 * The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
 * length, a JSON header naming each tensor's dtype, shape and byte range, then the raw data.
 * Decoding validates everything before trusting it (header size, JSON, dtypes, shapes, that the
 * byte ranges match the shapes, stay inside the file, do not overlap and leave no gaps), so a
 * damaged or truncated file raises a {@link SafetensorsError} instead of yielding garbage.
 * @module
 */

/** The element types we read and write. */
export type SafetensorsDType = 'F32' | 'F64' | 'I32' | 'I64' | 'U8' | 'BOOL';

type ArrayFor = {
  F32: Float32Array;
  F64: Float64Array;
  I32: Int32Array;
  I64: BigInt64Array;
  U8: Uint8Array;
  BOOL: Uint8Array;
};

export type SafetensorsArray = ArrayFor[SafetensorsDType];

export interface SafetensorsTensor {
  dtype: SafetensorsDType;
  shape: number[];
  data: SafetensorsArray;
}

export interface SafetensorsFile {
  metadata: Record<string, string>;
  tensors: Map<string, SafetensorsTensor>;
}

/** A file that is not valid safetensors; the message says where and why. */
export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';
}

const BYTES: Record<SafetensorsDType, number> = { F32: 4, F64: 8, I32: 4, I64: 8, U8: 1, BOOL: 1 };
const MAX_HEADER = 100 * 1024 * 1024;

function typedArray(dtype: SafetensorsDType, bytes: Uint8Array): SafetensorsArray {
  // Copy into a fresh, aligned buffer: the file's data may start at any offset.
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  switch (dtype) {
    case 'F32':
      return new Float32Array(copy.buffer);
    case 'F64':
      return new Float64Array(copy.buffer);
    case 'I32':
      return new Int32Array(copy.buffer);
    case 'I64':
      return new BigInt64Array(copy.buffer);
    case 'U8':
    case 'BOOL':
      return copy;
  }
}

function dtypeOf(data: SafetensorsArray): SafetensorsDType {
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof Float64Array) return 'F64';
  if (data instanceof Int32Array) return 'I32';
  if (data instanceof BigInt64Array) return 'I64';
  return 'U8';
}

/** Serializes tensors (sorted by name, as the reference implementation does) and string metadata. */
export function encodeSafetensors(
  tensors: Record<string, { shape: readonly number[]; data: SafetensorsArray; dtype?: SafetensorsDType }>,
  metadata: Record<string, string> = {},
): Buffer {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new TypeError(`metadata value for ${JSON.stringify(k)} must be a string`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const name of names) {
    const t = tensors[name]!;
    const dtype = t.dtype ?? dtypeOf(t.data);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new RangeError(
        `tensor ${JSON.stringify(name)}: shape [${t.shape.join(', ')}] needs ${count} elements, data has ${t.data.length}`,
      );
    }
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned (allowed by the format).
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const d = tensors[name]!.data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    at += d.byteLength;
  }
  return out;
}

/** Parses and validates a safetensors buffer; `source` names it in errors. */
export function decodeSafetensors(buffer: Uint8Array, source = 'safetensors data'): SafetensorsFile {
  const fail = (why: string): never => {
    throw new SafetensorsError(`${source}: ${why}`);
  };
  if (buffer.byteLength < 8) fail(`file is ${buffer.byteLength} bytes, too short for the 8-byte header length`);
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(MAX_HEADER, buffer.byteLength - 8))) {
    fail(`header length ${headerLength} exceeds the file (${buffer.byteLength} bytes): truncated or not safetensors`);
  }
  const dataStart = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(buffer.buffer, buffer.byteOffset + 8, Number(headerLength)).toString('utf8'));
  } catch (error) {
    fail(`header is not valid JSON (${(error as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');
  const entries = Object.entries(header as Record<string, unknown>);
  const metadata: Record<string, string> = {};
  const ranges: [number, number, string][] = [];
  const tensors = new Map<string, SafetensorsTensor>();
  const dataLength = buffer.byteLength - dataStart;
  for (const [name, value] of entries) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object') fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`metadata ${JSON.stringify(k)} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const info = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (info === null || typeof info !== 'object') fail(`tensor ${JSON.stringify(name)} has no description`);
    const dtype = info.dtype as SafetensorsDType;
    if (typeof dtype !== 'string' || !Object.hasOwn(BYTES, dtype))
      fail(`tensor ${JSON.stringify(name)} has unsupported dtype ${JSON.stringify(info.dtype)}`);
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor ${JSON.stringify(name)} has an invalid shape ${JSON.stringify(shape)}`);
    }
    const offsets = info.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`tensor ${JSON.stringify(name)} has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const expected = (shape as number[]).reduce((a, b) => a * b, 1) * BYTES[dtype];
    if (end < begin || end - begin !== expected) {
      fail(
        `tensor ${JSON.stringify(name)}: data_offsets [${begin}, ${end}] do not hold ${expected} bytes for shape [${(shape as number[]).join(', ')}] ${dtype}`,
      );
    }
    if (end > dataLength) fail(`tensor ${JSON.stringify(name)} ends at byte ${end} but the data holds ${dataLength}: truncated file`);
    ranges.push([begin, end, name]);
    tensors.set(name, {
      dtype,
      shape: [...(shape as number[])],
      data: typedArray(dtype, buffer.subarray(dataStart + begin, dataStart + end)),
    });
  }
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cursor = 0;
  for (const [begin, end, name] of ranges) {
    if (begin !== cursor) fail(`tensor ${JSON.stringify(name)} starts at byte ${begin}, expected ${cursor} (overlap or gap)`);
    cursor = end;
  }
  if (cursor !== dataLength) fail(`data holds ${dataLength} bytes but the tensors cover ${cursor}: truncated or trailing bytes`);
  return { metadata, tensors };
}
