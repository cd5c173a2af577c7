/**
 * Reading what torch.save wrote, without Python: the zip format of PyTorch 1.6 and later
 * (`<archive>/data.pkl`, a pickle whose tensors point through persistent ids at the storages in
 * `<archive>/data/<key>`) and the older "legacy" format (several pickles in a row, then the
 * storages' bytes).
 *
 * The pickle is read by the restricted unpickler (io/pickle) with an allow-list that holds exactly
 * what a state_dict (or a checkpoint dict around one) contains: collections.OrderedDict, torch's
 * tensor and parameter rebuild functions, and the typed storage classes. Tensors are not read at
 * that point: each becomes a {@link TorchTensor} (storage, offset, shape, strides) whose bounds are
 * checked against its storage, and {@link TorchFile.readFloat32} reads one when the caller has
 * checked its shape, so nothing is allocated for tensors the caller does not want.
 * @module
 */
import { CheckpointError } from '../checkpoint/format';
import { FileError } from '../io/fileError';
import { openRegularFile, readRegularFile } from '../io/readFile';
import { PickleError, PickleGlobal, pickleTypeName, unpickle, type PickleRules, type PickleValue } from '../io/pickle';
import { ZipError, ZipReader } from '../io/zipReader';
import { describe } from '../validate';

/** The element types of torch's typed storages. */
export type TorchDType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

const STORAGE_CLASSES: Readonly<Record<string, TorchDType>> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

const ELEMENT_BYTES: Readonly<Record<TorchDType, number>> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** The dtypes {@link TorchFile.readFloat32} converts (the others are integer types). */
export const FLOAT_DTYPES: readonly TorchDType[] = ['float32', 'float64', 'float16', 'bfloat16'];

/** A storage the pickle refers to: its key (its file name in the archive), element type and length. */
export class TorchStorage {
  constructor(
    /** The storage's key ('0', '1', ... in zip files). */
    readonly key: string,
    /** The element type. */
    readonly dtype: TorchDType,
    /** Elements it holds. */
    readonly numel: number,
  ) {}

  /** Its size in bytes. */
  get nbytes(): number {
    return this.numel * ELEMENT_BYTES[this.dtype];
  }
}

/** A tensor of the file, not yet read: a strided view of a storage, checked to lie inside it. */
export class TorchTensor {
  constructor(
    /** Where the values are. */
    readonly storage: TorchStorage,
    /** The first element's index in the storage. */
    readonly offset: number,
    /** The dimensions. */
    readonly shape: readonly number[],
    /** The step in storage elements of each dimension. */
    readonly stride: readonly number[],
  ) {}

  /** The element type (its storage's). */
  get dtype(): TorchDType {
    return this.storage.dtype;
  }

  /** Element count. */
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
}

/** An opened torch.save file: the unpickled object and access to its tensors' values. */
export interface TorchFile {
  /** The file, for messages. */
  readonly source: string;
  /** 'zip' (PyTorch 1.6 and later) or 'legacy'. */
  readonly format: 'zip' | 'legacy';
  /** The saved object: dicts are Maps, tensors {@link TorchTensor}s (see io/pickle for the rest). */
  readonly root: PickleValue;
  /** A float tensor's values as float32, in row-major order (float64, float16 and bfloat16 are converted). */
  readFloat32(tensor: TorchTensor): Promise<Float32Array>;
  /** Releases the file. */
  close(): Promise<void>;
}

/** data.pkl's size limit: a state_dict's pickle takes about 150 bytes per tensor. */
const MAX_PICKLE_BYTES = 64 * 1024 * 1024;
/** The first pickle of the legacy format: PROTO 2, LONG1 of 10 bytes, the magic number 0x1950a86a20f9469cfc6c, STOP. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

function safeIndex(v: PickleValue, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new PickleError(`${what} must be a non-negative integer, got ${pickleTypeName(v)} ${describe(v)}`);
  return v;
}

function intTuple(v: PickleValue, what: string): number[] {
  if (!Array.isArray(v)) throw new PickleError(`${what} must be a tuple of integers, got ${pickleTypeName(v)}`);
  return (v as PickleValue[]).map((d, i) => safeIndex(d, `${what}[${i}]`));
}

/** `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`, checked. */
function rebuildTensor(args: readonly PickleValue[]): TorchTensor {
  if (args.length < 4) throw new PickleError(`takes (storage, offset, size, stride, ...), got ${args.length} arguments`);
  const [storage, offsetArg, sizeArg, strideArg] = args;
  if (!(storage instanceof TorchStorage)) throw new PickleError(`needs a storage as its first argument, got ${pickleTypeName(storage)}`);
  const offset = safeIndex(offsetArg!, 'storage_offset');
  const shape = intTuple(sizeArg!, 'size');
  const stride = intTuple(strideArg!, 'stride');
  if (stride.length !== shape.length) throw new PickleError(`has ${shape.length} sizes but ${stride.length} strides`);
  // BigInt: a hostile size times stride may exceed 2^53.
  if (!shape.includes(0)) {
    let last = BigInt(offset);
    for (let i = 0; i < shape.length; i++) last += BigInt(shape[i]! - 1) * BigInt(stride[i]!);
    if (last >= BigInt(storage.numel)) {
      throw new PickleError(
        `tensor of size [${shape.join(', ')}], stride [${stride.join(', ')}] at offset ${offset} reaches element ${last} of storage ${JSON.stringify(storage.key)}, which holds ${storage.numel}`,
      );
    }
  }
  return new TorchTensor(storage, offset, shape, stride);
}

/** The allow-list: what a state_dict, or a checkpoint dict around one, is made of. */
function pickleRules(persistentLoad: (pid: PickleValue) => PickleValue): PickleRules {
  const globals = new Map<string, ((args: readonly PickleValue[]) => PickleValue) | null>([
    [
      'collections.OrderedDict',
      (args) => {
        if (args.length !== 0) throw new PickleError(`is called with ${args.length} arguments; torch.save passes none`);
        return new Map();
      },
    ],
    ['torch._utils._rebuild_tensor_v2', rebuildTensor],
    ['torch._utils._rebuild_tensor', rebuildTensor],
    // A Parameter is its data tensor; requires_grad, hooks and extra state do not matter here.
    ['torch._utils._rebuild_parameter', (args) => parameterData(args)],
    ['torch._utils._rebuild_parameter_with_state', (args) => parameterData(args)],
  ]);
  for (const name of Object.keys(STORAGE_CLASSES)) globals.set(`torch.${name}`, null);
  return { globals, persistentLoad };
}

function parameterData(args: readonly PickleValue[]): TorchTensor {
  if (!(args[0] instanceof TorchTensor)) throw new PickleError(`needs a tensor as its first argument, got ${pickleTypeName(args[0])}`);
  return args[0];
}

/**
 * Resolves the persistent ids of tensors' storages: ('storage', StorageClass, key, location,
 * numel[, view_metadata]). One object per key, so tensors sharing a storage share it here too.
 */
function storageResolver(legacy: boolean): { load: (pid: PickleValue) => PickleValue; storages: Map<string, TorchStorage> } {
  const storages = new Map<string, TorchStorage>();
  const load = (pid: PickleValue): PickleValue => {
    if (!Array.isArray(pid) || pid.length < 5 || pid[0] !== 'storage') {
      throw new PickleError(`only ('storage', type, key, location, numel) ids are allowed, got ${pickleTypeName(pid)}`);
    }
    const [, type, key, location, numelArg, view] = pid as PickleValue[];
    if (!(type instanceof PickleGlobal) || type.module !== 'torch' || !Object.hasOwn(STORAGE_CLASSES, type.name)) {
      throw new PickleError(
        `storage type must be one of torch.${Object.keys(STORAGE_CLASSES).join(', torch.')}, got ${pickleTypeName(type)}`,
      );
    }
    if (typeof key !== 'string' || !/^[\w.-]{1,64}$/.test(key))
      throw new PickleError(`storage key must be a short name, got ${pickleTypeName(key)}`);
    if (typeof location !== 'string') throw new PickleError(`storage location must be a string, got ${pickleTypeName(location)}`);
    if (legacy && view !== undefined && view !== null) throw new PickleError('storage views (PyTorch before 0.4) are not supported');
    const dtype = STORAGE_CLASSES[type.name]!;
    const numel = safeIndex(numelArg!, 'storage numel');
    const known = storages.get(key);
    if (known) {
      if (known.dtype !== dtype || known.numel !== numel)
        throw new PickleError(`storage ${JSON.stringify(key)} is described twice, differently`);
      return known;
    }
    const storage = new TorchStorage(key, dtype, numel);
    storages.set(key, storage);
    return storage;
  };
  return { load, storages };
}

/** The float32 values of every element of a storage (a view when it is little-endian float32 already). */
function decodeStorage(bytes: Uint8Array, dtype: TorchDType, littleEndian: boolean): Float32Array {
  const n = bytes.byteLength / ELEMENT_BYTES[dtype];
  if (dtype === 'float32' && littleEndian && bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  switch (dtype) {
    case 'float32':
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, littleEndian);
      break;
    case 'float64':
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, littleEndian);
      break;
    case 'bfloat16': {
      // bfloat16 is the upper half of a float32.
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, littleEndian) << 16;
      break;
    }
    case 'float16':
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, littleEndian));
      break;
    default:
      throw new TypeError(`decodeStorage: ${dtype} is not a floating-point type`);
  }
  return out;
}

/** IEEE 754 binary16 to a number (exact). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Copies a strided view of `source` into a new row-major array. */
function gather(source: Float32Array, tensor: TorchTensor): Float32Array {
  const { shape, stride, offset } = tensor;
  const numel = tensor.numel;
  let contiguous = true;
  for (let i = shape.length - 1, expected = 1; i >= 0; i--) {
    if (shape[i]! !== 1 && stride[i]! !== expected) contiguous = false;
    expected *= shape[i]!;
  }
  if (contiguous) return source.slice(offset, offset + numel);
  const out = new Float32Array(numel);
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  const inner = shape[rank - 1]!;
  const innerStride = stride[rank - 1]!;
  let base = offset;
  for (let o = 0; o < numel; o += inner) {
    for (let j = 0; j < inner; j++) out[o + j] = source[base + j * innerStride]!;
    // Advance the outer dimensions like an odometer.
    for (let d = rank - 2; d >= 0; d--) {
      index[d]!++;
      base += stride[d]!;
      if (index[d]! < shape[d]!) break;
      base -= stride[d]! * shape[d]!;
      index[d] = 0;
    }
  }
  return out;
}

/** A tensor reader that decodes each storage once (tensors often share one) and gathers the tensor's view of it. */
function cachedReader(decode: (storage: TorchStorage) => Promise<Float32Array>): (tensor: TorchTensor) => Promise<Float32Array> {
  const decoded = new Map<string, Float32Array>();
  return async (tensor) => {
    checkFloat(tensor);
    let values = decoded.get(tensor.storage.key);
    if (!values) {
      values = await decode(tensor.storage);
      decoded.set(tensor.storage.key, values);
    }
    return gather(values, tensor);
  };
}

function checkFloat(tensor: TorchTensor): void {
  if (!FLOAT_DTYPES.includes(tensor.dtype)) throw new TypeError(`readFloat32: the tensor is ${tensor.dtype}, not a floating-point type`);
}

/** The zip format: `<archive>/data.pkl`, `<archive>/data/<key>`, `<archive>/byteorder`. */
async function openZip(file: string): Promise<TorchFile> {
  const zip = await ZipReader.open(file);
  try {
    const pickles = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
    if (pickles.length !== 1) {
      throw new ZipError(
        `${file}: is a zip archive but not a torch.save file (expected one <archive>/data.pkl, found ${pickles.length === 0 ? 'none' : pickles.join(', ')})`,
      );
    }
    const prefix = pickles[0]!.slice(0, -'data.pkl'.length);
    if ([...zip.entries.keys()].some((n) => n.startsWith(`${prefix}code/`))) {
      throw new ZipError(
        `${file}: is a TorchScript archive (torch.jit.save), not a state_dict; in Python, torch.save(model.state_dict(), path) writes one`,
      );
    }
    let littleEndian = true;
    if (zip.entries.has(`${prefix}byteorder`)) {
      const order = Buffer.from(await zip.read(`${prefix}byteorder`, 16)).toString('latin1');
      if (order !== 'little' && order !== 'big')
        throw new ZipError(`${file}: byteorder record says ${JSON.stringify(order)}, expected little or big`);
      littleEndian = order === 'little';
    }
    const { load } = storageResolver(false);
    const root = unpickle(await zip.read(pickles[0]!, MAX_PICKLE_BYTES), pickleRules(load)).value;
    return {
      source: file,
      format: 'zip',
      root,
      readFloat32: cachedReader(async (storage) => {
        const name = `${prefix}data/${storage.key}`;
        const entry = zip.entries.get(name);
        if (!entry) throw new ZipError(`${file}: storage ${JSON.stringify(storage.key)} is missing (no entry ${JSON.stringify(name)})`);
        if (entry.size !== storage.nbytes) {
          throw new ZipError(
            `${file}: storage ${JSON.stringify(storage.key)} should hold ${storage.numel} ${storage.dtype} values (${storage.nbytes} bytes), its entry holds ${entry.size} bytes`,
          );
        }
        return decodeStorage(await zip.read(name, storage.nbytes), storage.dtype, littleEndian);
      }),
      close: () => zip.close(),
    };
  } catch (error) {
    await zip.close();
    throw error;
  }
}

/**
 * The legacy format: pickles of the magic number, the protocol version (1001) and a system-info
 * dict, then the object, then the list of storage keys, then each storage as an 8-byte element
 * count and its bytes, in that list's order.
 */
async function openLegacy(file: string): Promise<TorchFile> {
  const bytes = new Uint8Array(await readRegularFile(file, { what: 'torch file' }));
  const none = { globals: new Map() };
  let at = 0;
  const next = (rules: PickleRules) => {
    const r = unpickle(bytes, rules, at);
    at = r.end;
    return r.value;
  };
  const magic = next(none);
  if (magic !== LEGACY_MAGIC) throw new PickleError("does not start with torch's magic number");
  const version = next(none);
  if (version !== 1001) throw new PickleError(`has legacy protocol version ${describe(version)}, expected 1001`);
  const sysInfo = next(none);
  const littleEndian = !(sysInfo instanceof Map && sysInfo.get('little_endian') === false);
  const { load, storages } = storageResolver(true);
  const root = next(pickleRules(load));
  const keys = next(none);
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string'))
    throw new PickleError('the storage key list is not a list of strings');
  const locations = new Map<string, number>();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const key of keys as string[]) {
    const storage = storages.get(key);
    if (!storage) throw new PickleError(`lists storage ${JSON.stringify(key)}, which no tensor uses`);
    if (at + 8 > bytes.byteLength) throw new PickleError(`ends before storage ${JSON.stringify(key)}: truncated`);
    const count = view.getBigInt64(at, littleEndian);
    if (count !== BigInt(storage.numel))
      throw new PickleError(`storage ${JSON.stringify(key)} holds ${count} elements, the pickle says ${storage.numel}`);
    at += 8;
    if (storage.nbytes > bytes.byteLength - at)
      throw new PickleError(`storage ${JSON.stringify(key)} needs ${storage.nbytes} bytes at byte ${at}, the file ends first: truncated`);
    locations.set(key, at);
    at += storage.nbytes;
  }
  return {
    source: file,
    format: 'legacy',
    root,
    readFloat32: cachedReader(async (storage) => {
      const start = locations.get(storage.key);
      if (start === undefined) throw new PickleError(`storage ${JSON.stringify(storage.key)} is not in the file's storage list`);
      // A copy: the storage's bytes may start anywhere, typed arrays need alignment.
      return decodeStorage(bytes.slice(start, start + storage.nbytes), storage.dtype, littleEndian);
    }),
    close: async () => {},
  };
}

/**
 * Opens a file torch.save wrote (zip or legacy format) and unpickles it under the state_dict
 * allow-list. Throws a {@link CheckpointError} naming the file and the problem: not a torch
 * file, damaged, or holding anything but dicts, lists, numbers, strings and tensors (such as a
 * whole pickled nn.Module, or an argparse.Namespace beside the weights).
 */
export async function openTorchFile(file: string): Promise<TorchFile> {
  if (typeof file !== 'string' || file.length === 0) throw new TypeError(`file must be a path, got ${String(file)}`);
  let head: Uint8Array;
  try {
    // Only regular files: a FIFO would block the read (and one of libuv's threads) for good.
    const { handle } = await openRegularFile(file);
    try {
      head = new Uint8Array(512);
      head = head.subarray(0, (await handle.read(head, 0, 512, 0)).bytesRead);
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof FileError && error.errno === 'ENOENT') throw new CheckpointError(`${file}: no such file`);
    throw new CheckpointError((error as Error).message);
  }
  const isZip = head[0] === 0x50 && head[1] === 0x4b;
  const isLegacy = head[0] === 0x80 && head[1] === 0x02;
  const isTar = Buffer.from(head.subarray(257, 262)).toString('latin1') === 'ustar';
  if (isZip || isLegacy) {
    const opened = await asCheckpointError(file, () => (isZip ? openZip(file) : openLegacy(file)));
    return { ...opened, readFloat32: (tensor) => asCheckpointError(file, () => opened.readFloat32(tensor)) };
  }
  if (isTar)
    throw new CheckpointError(
      `${file}: is a tar-format torch checkpoint (PyTorch before 0.4), which is not supported; load it and save it again with torch>=1.6`,
    );
  throw new CheckpointError(
    `${file}: is not a torch.save file (neither a zip archive nor the legacy pickle format); re-save it with torch.save from torch>=1.6`,
  );
}

/** Runs `fn`, turning zip and pickle errors into CheckpointErrors that name the file. */
async function asCheckpointError<T>(file: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ZipError)
      throw new CheckpointError(error.message.startsWith(file) ? error.message : `${file}: ${error.message}`, { cause: error });
    if (error instanceof PickleError) {
      throw new CheckpointError(
        `${file}: cannot be imported: ${error.message}. Only state_dicts are read (tensors, dicts, lists, numbers and strings; ` +
          'nothing is executed); in Python, torch.save(model.state_dict(), path) writes one',
        { cause: error },
      );
    }
    throw error;
  }
}
