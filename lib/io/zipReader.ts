/**
 * A small, strict reader for zip archives such as torch.save writes (one file per storage, stored
 * uncompressed, zip64 past 4 GiB).
 *
 * Why our own reader rather than yauzl or fflate: we need random access to a handful of named
 * entries of a file that may be hundreds of megabytes and may be hostile, and every byte we
 * allocate must be bounded by the file itself or by a caller's limit. fflate unzips from one
 * in-memory buffer and trusts the sizes in the headers when it allocates; yauzl is sound but
 * delivers every entry through streams and callbacks, which here would only add copies and
 * plumbing. The subset torch needs (end-of-central-directory record, zip64 records, central
 * directory, local headers, stored and deflated entries) is small, node:zlib inflates with a hard
 * output limit, and zlib.crc32 checks the data.
 *
 * Every size and offset is checked against the file before it is used: entries must lie inside
 * the file, before the central directory, with unique names; deflated entries inflate to exactly
 * their declared size, never past the caller's limit; CRC-32s are verified (except a stored 0,
 * which torch writes when told not to compute them). Any violation is a {@link ZipError}.
 * @module
 */
import type { FileHandle } from 'node:fs/promises';
import * as zlib from 'node:zlib';

import { openRegularFile } from './readFile';

/** A zip archive that is damaged, truncated, hostile or uses a feature we do not read. */
export class ZipError extends Error {
  override readonly name = 'ZipError';
}

/** One file in the archive, as its central directory entry describes it. */
export interface ZipEntry {
  /** The entry's path inside the archive. */
  name: string;
  /** 0 (stored) or 8 (deflated). */
  method: number;
  /** Bytes the entry occupies in the file. */
  compressedSize: number;
  /** Bytes once extracted. */
  size: number;
  /** CRC-32 of the extracted bytes. */
  crc32: number;
  /** Where its local header starts. */
  localHeaderOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;

/** An opened zip archive; {@link ZipReader.read} extracts entries. Close it when done. */
export class ZipReader {
  /** The entries by name. */
  readonly entries: ReadonlyMap<string, ZipEntry>;
  readonly #handle: FileHandle;
  readonly #source: string;
  readonly #dataEnd: number;

  private constructor(handle: FileHandle, source: string, entries: Map<string, ZipEntry>, dataEnd: number) {
    this.#handle = handle;
    this.#source = source;
    this.entries = entries;
    this.#dataEnd = dataEnd;
  }

  /** Opens `file` and reads its central directory; throws a {@link ZipError} if it is not a readable zip. */
  static async open(file: string): Promise<ZipReader> {
    const { handle, size } = await openRegularFile(file);
    try {
      const { entries, centralOffset } = await readCentralDirectory(handle, size, file);
      return new ZipReader(handle, file, entries, centralOffset);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /**
   * The extracted bytes of the entry `name` (a fresh buffer). Throws a {@link ZipError} when the
   * entry is missing, damaged, or would extract to more than `maxBytes`.
   */
  async read(name: string, maxBytes: number): Promise<Uint8Array> {
    const entry = this.entries.get(name);
    const fail = (why: string): never => {
      throw new ZipError(`${this.#source}: entry ${JSON.stringify(name)} ${why}`);
    };
    if (!entry) return fail('is missing');
    if (entry.size > maxBytes) return fail(`extracts to ${entry.size} bytes, more than the ${maxBytes} allowed for it`);
    const local = await readExactly(this.#handle, entry.localHeaderOffset, 30, this.#source);
    const view = new DataView(local.buffer, local.byteOffset, local.byteLength);
    if (view.getUint32(0, true) !== LOCAL_SIGNATURE) fail(`has no local header at byte ${entry.localHeaderOffset}`);
    const dataStart = entry.localHeaderOffset + 30 + view.getUint16(26, true) + view.getUint16(28, true);
    if (dataStart + entry.compressedSize > this.#dataEnd) {
      fail(
        `claims ${entry.compressedSize} bytes at byte ${dataStart}, past the end of the entries (byte ${this.#dataEnd}): truncated or damaged`,
      );
    }
    const raw = await readExactly(this.#handle, dataStart, entry.compressedSize, this.#source);
    let data: Uint8Array;
    if (entry.method === 0) {
      data = raw;
    } else {
      try {
        // maxOutputLength makes zlib stop (and throw) instead of growing past the declared size.
        data = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(entry.size, 1) });
      } catch (error) {
        return fail(`does not inflate to its declared ${entry.size} bytes (${(error as Error).message})`);
      }
      if (data.byteLength !== entry.size) fail(`inflates to ${data.byteLength} bytes, its header says ${entry.size}`);
    }
    if (entry.crc32 !== 0) {
      const crc = zlib.crc32(data);
      if (crc !== entry.crc32) fail(`fails its CRC-32 check (stored ${hex(entry.crc32)}, computed ${hex(crc)}): the file is damaged`);
    }
    return data;
  }

  /** Closes the file. */
  async close(): Promise<void> {
    await this.#handle.close();
  }
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

/** Reads exactly `length` bytes at `position` into a fresh (aligned) buffer, or throws a ZipError. */
async function readExactly(handle: FileHandle, position: number, length: number, source: string): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(out, done, length - done, position + done);
    if (bytesRead === 0) throw new ZipError(`${source}: ends at byte ${position + done}, expected ${length - done} more bytes: truncated`);
    done += bytesRead;
  }
  return out;
}

/** A 64-bit little-endian size or offset, which must fit a safe integer. */
function uint64(view: DataView, at: number, what: string, source: string): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError(`${source}: ${what} ${v} is impossibly large`);
  return Number(v);
}

async function readCentralDirectory(
  handle: FileHandle,
  size: number,
  source: string,
): Promise<{ entries: Map<string, ZipEntry>; centralOffset: number }> {
  const fail = (why: string): never => {
    throw new ZipError(`${source}: ${why}`);
  };
  if (size < EOCD_SIZE) fail(`is ${size} bytes, too short for a zip archive`);
  const tailLength = Math.min(size, EOCD_SIZE + MAX_COMMENT + 20);
  const tailStart = size - tailLength;
  const tail = await readExactly(handle, tailStart, tailLength, source);
  const tv = new DataView(tail.buffer);
  let eocd = -1;
  for (let at = tailLength - EOCD_SIZE; at >= 0; at--) {
    if (tv.getUint32(at, true) === EOCD_SIGNATURE && at + EOCD_SIZE + tv.getUint16(at + 20, true) <= tailLength) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) fail('has no end-of-central-directory record: not a zip archive, or truncated');
  if (tv.getUint16(eocd + 4, true) !== 0 || tv.getUint16(eocd + 6, true) !== 0)
    fail('is a multi-part (spanned) zip archive, which is not supported');
  let count = tv.getUint16(eocd + 10, true);
  let centralSize = tv.getUint32(eocd + 12, true);
  let centralOffset = tv.getUint32(eocd + 16, true);
  let centralEnd = tailStart + eocd;
  const locator = eocd - 20;
  if (locator >= 0 && tv.getUint32(locator, true) === ZIP64_LOCATOR_SIGNATURE) {
    const recordOffset = uint64(tv, locator + 8, 'the zip64 record offset', source);
    if (recordOffset + 56 > tailStart + locator) fail(`zip64 end record at byte ${recordOffset} is outside the file`);
    const record = await readExactly(handle, recordOffset, 56, source);
    const rv = new DataView(record.buffer);
    if (rv.getUint32(0, true) !== ZIP64_EOCD_SIGNATURE) fail(`has no zip64 end record at byte ${recordOffset}`);
    count = uint64(rv, 32, 'the entry count', source);
    centralSize = uint64(rv, 40, 'the central directory size', source);
    centralOffset = uint64(rv, 48, 'the central directory offset', source);
    centralEnd = recordOffset;
  }
  if (centralOffset + centralSize > centralEnd) {
    fail(
      `central directory (${centralSize} bytes at byte ${centralOffset}) runs past its end record at byte ${centralEnd}: truncated or damaged`,
    );
  }
  // Each entry takes at least 46 bytes, so a count the directory cannot hold is a lie.
  if (count * 46 > centralSize) fail(`claims ${count} entries in a ${centralSize}-byte central directory`);
  const central = await readExactly(handle, centralOffset, centralSize, source);
  const cv = new DataView(central.buffer);
  const entries = new Map<string, ZipEntry>();
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > centralSize || cv.getUint32(at, true) !== CENTRAL_SIGNATURE)
      fail(`central directory entry ${i} is damaged (at byte ${centralOffset + at})`);
    const flags = cv.getUint16(at + 8, true);
    const method = cv.getUint16(at + 10, true);
    const nameLength = cv.getUint16(at + 28, true);
    const extraLength = cv.getUint16(at + 30, true);
    const commentLength = cv.getUint16(at + 32, true);
    const next = at + 46 + nameLength + extraLength + commentLength;
    if (next > centralSize) fail(`central directory entry ${i} runs past the directory`);
    const name = Buffer.from(central.subarray(at + 46, at + 46 + nameLength)).toString('utf8');
    let size = cv.getUint32(at + 24, true);
    let compressedSize = cv.getUint32(at + 20, true);
    let localHeaderOffset = cv.getUint32(at + 42, true);
    // zip64: the 0xffffffff fields are in the extra field 0x0001, in this order.
    if (size === 0xffffffff || compressedSize === 0xffffffff || localHeaderOffset === 0xffffffff) {
      let e = at + 46 + nameLength;
      const extraEnd = e + extraLength;
      let found = false;
      while (e + 4 <= extraEnd) {
        const id = cv.getUint16(e, true);
        const length = cv.getUint16(e + 2, true);
        if (e + 4 + length > extraEnd) break;
        if (id === 0x0001) {
          let f = e + 4;
          const take = (what: string): number => {
            if (f + 8 > e + 4 + length) fail(`entry ${JSON.stringify(name)} has a short zip64 field`);
            const v = uint64(cv, f, what, source);
            f += 8;
            return v;
          };
          if (size === 0xffffffff) size = take('an entry size');
          if (compressedSize === 0xffffffff) compressedSize = take('an entry size');
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = take('an entry offset');
          found = true;
          break;
        }
        e += 4 + length;
      }
      if (!found) fail(`entry ${JSON.stringify(name)} needs a zip64 extra field and has none`);
    }
    if (flags & 0x1) fail(`entry ${JSON.stringify(name)} is encrypted`);
    if (method !== 0 && method !== 8)
      fail(`entry ${JSON.stringify(name)} uses compression method ${method}; only stored (0) and deflate (8) are read`);
    if (method === 0 && size !== compressedSize)
      fail(`stored entry ${JSON.stringify(name)} has different sizes (${compressedSize} and ${size})`);
    if (localHeaderOffset + 30 + compressedSize > centralOffset) {
      fail(
        `entry ${JSON.stringify(name)} (${compressedSize} bytes at byte ${localHeaderOffset}) runs into the central directory: truncated or damaged`,
      );
    }
    if (entries.has(name)) fail(`has two entries named ${JSON.stringify(name)}`);
    entries.set(name, { name, method, compressedSize, size, crc32: cv.getUint32(at + 16, true), localHeaderOffset });
    at = next;
  }
  return { entries, centralOffset };
}
