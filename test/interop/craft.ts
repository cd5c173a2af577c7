/**
 * Hand-made pickles and zip archives for the importer's tests: valid torch.save-like files to
 * start from, and hostile ones (forbidden globals, refused opcodes, lying lengths, zip bombs).
 */
import { deflateRawSync, crc32 } from 'node:zlib';

/** Pickle opcodes as bytes, to write pickles by hand. */
export const op = {
  proto: (v = 2) => [0x80, v],
  stop: () => [0x2e],
  mark: () => [0x28],
  global: (module: string, name: string) => [0x63, ...Buffer.from(`${module}\n${name}\n`, 'latin1')],
  stackGlobal: () => [0x93],
  reduce: () => [0x52],
  build: () => [0x62],
  tuple: () => [0x74],
  tuple1: () => [0x85],
  tuple2: () => [0x86],
  emptyTuple: () => [0x29],
  emptyDict: () => [0x7d],
  setitems: () => [0x75],
  setitem: () => [0x73],
  binpersid: () => [0x51],
  newFalse: () => [0x89],
  none: () => [0x4e],
  int: (v: number) => {
    const b = Buffer.alloc(5);
    b[0] = 0x4a;
    b.writeInt32LE(v, 1);
    return [...b];
  },
  str: (s: string) => {
    const bytes = Buffer.from(s, 'utf8');
    const head = Buffer.alloc(5);
    head[0] = 0x58;
    head.writeUInt32LE(bytes.length, 1);
    return [...head, ...bytes];
  },
  shortStr: (s: string) => [0x8c, Buffer.byteLength(s), ...Buffer.from(s, 'utf8')],
  binget: (i: number) => [0x68, i],
  longBinget: (i: number) => {
    const b = Buffer.alloc(5);
    b[0] = 0x6a;
    b.writeUInt32LE(i, 1);
    return [...b];
  },
};

/** Concatenates opcode byte lists into a pickle. */
export function pickle(...parts: number[][]): Uint8Array {
  return Uint8Array.from(parts.flat());
}

/**
 * Opcodes building `_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())` for a
 * FloatStorage (or `storageClass`); `viewMetadata` adds the legacy format's sixth persistent-id item.
 */
export function tensorOps(
  key: string,
  numel: number,
  offset: number,
  size: number[],
  stride: number[],
  storageClass = 'FloatStorage',
  viewMetadata?: number[],
): number[][] {
  const ints = (xs: number[]) => [op.mark(), ...xs.map((x) => op.int(x)), op.tuple()];
  return [
    op.global('torch._utils', '_rebuild_tensor_v2'),
    op.mark(),
    op.mark(),
    op.str('storage'),
    op.global('torch', storageClass),
    op.str(key),
    op.str('cpu'),
    op.int(numel),
    ...(viewMetadata ? [viewMetadata] : []),
    op.tuple(),
    op.binpersid(),
    op.int(offset),
    ...ints(size),
    ...ints(stride),
    op.newFalse(),
    op.global('collections', 'OrderedDict'),
    op.emptyTuple(),
    op.reduce(),
    op.tuple(),
    op.reduce(),
  ];
}

/** A state_dict pickle `OrderedDict(name -> tensor)` from [name, tensor opcodes] pairs. */
export function stateDictPickle(entries: [string, number[][]][]): Uint8Array {
  return pickle(
    op.proto(2),
    op.global('collections', 'OrderedDict'),
    op.emptyTuple(),
    op.reduce(),
    op.mark(),
    ...entries.flatMap(([name, ops]) => [op.str(name), ...ops]),
    op.setitems(),
    op.stop(),
  );
}

/** One entry of {@link zipArchive}. */
export interface ZipFileSpec {
  name: string;
  data: Uint8Array;
  /** Deflate it (default: stored, as torch.save writes). */
  deflate?: boolean;
  /** Claim this extracted size instead of the true one (a zip bomb's lie). */
  claimedSize?: number;
  /** Store this CRC-32 instead of the true one. */
  crc?: number;
}

/** A zip archive of `files` (local headers, central directory, end record), as a torch.save file lays it out. */
export function zipArchive(files: ZipFileSpec[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const f of files) {
    const name = Buffer.from(f.name, 'utf8');
    const body = f.deflate ? deflateRawSync(f.data) : Buffer.from(f.data);
    const size = f.claimedSize ?? f.data.byteLength;
    const crc = f.crc ?? crc32(f.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(f.deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(f.deflate ? 8 : 0, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** Float32 values as little-endian bytes. */
export function floatBytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

/** A torch.save-like zip file: `archive/data.pkl` plus storages `archive/data/<key>`. */
export function torchZip(dataPkl: Uint8Array, storages: Record<string, Uint8Array> = {}, extra: ZipFileSpec[] = []): Buffer {
  return zipArchive([
    { name: 'archive/data.pkl', data: dataPkl },
    ...Object.entries(storages).map(([key, data]) => ({ name: `archive/data/${key}`, data })),
    { name: 'archive/byteorder', data: Buffer.from('little') },
    ...extra,
  ]);
}

/**
 * A legacy-format (pre-1.6) torch.save file: pickles of the magic number, protocol version 1001 and
 * system info, then `main`, then the storage keys, then each storage as an int64 count and its bytes.
 */
export function legacyFile(main: Uint8Array, storages: [key: string, values: Uint8Array, count: number][]): Buffer {
  const magic = [0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
  const keys = pickle(op.proto(2), op.mark(), ...storages.map(([k]) => op.str(k)), [0x6c], op.stop());
  const parts: Uint8Array[] = [
    pickle(op.proto(2), magic, op.stop()),
    pickle(op.proto(2), op.int(1001), op.stop()),
    pickle(op.proto(2), op.emptyDict(), op.str('little_endian'), [0x88], op.setitem(), op.stop()),
    main,
    keys,
  ];
  for (const [, values, count] of storages) {
    const n = Buffer.alloc(8);
    n.writeBigInt64LE(BigInt(count));
    parts.push(n, values);
  }
  return Buffer.concat(parts);
}
