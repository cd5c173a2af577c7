/**
 * The torch.save reader on hand-made files: valid ones (strides, offsets: the positive controls),
 * and hostile or damaged ones, which must be refused with a CheckpointError naming the file and
 * the problem, without executing anything and without allocating more than the file holds.
 * No PyTorch needed (test/interop/torchImport.test.ts checks files PyTorch writes).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deflateRawSync } from 'node:zlib';

import { afterAll, describe, expect, it } from 'vitest';

import { CheckpointError } from '../../lib/checkpoint/format';
import { importTorchCheckpoint } from '../../lib/interop/torchImport';
import { openTorchFile, TorchTensor } from '../../lib/interop/torchFile';
import { PICKLE_LIMITS } from '../../lib/io/pickle';
import { floatBytes, legacyFile, op, pickle, stateDictPickle, tensorOps, torchZip, zipArchive } from './craft';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'alexnet-torch-safety-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let counter = 0;
function file(bytes: Uint8Array): string {
  const f = path.join(tmp, `case-${counter++}.pth`);
  writeFileSync(f, bytes);
  return f;
}

/** Opens the file and reads every tensor of its top-level dict; resolves to the values by name. */
async function readAll(f: string): Promise<Map<string, Float32Array>> {
  const torch = await openTorchFile(f);
  try {
    const out = new Map<string, Float32Array>();
    for (const [k, v] of torch.root as Map<string, unknown>) if (v instanceof TorchTensor) out.set(k, await torch.readFloat32(v));
    return out;
  } finally {
    await torch.close();
  }
}

/** Expects reading `bytes` to fail with a CheckpointError that names the file and matches `why`. */
async function expectRefused(bytes: Uint8Array, why: RegExp): Promise<void> {
  const f = file(bytes);
  const error = await readAll(f).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, `expected ${path.basename(f)} to be refused`).toBeInstanceOf(CheckpointError);
  expect((error as Error).message.startsWith(`${f}: `), (error as Error).message).toBe(true);
  expect((error as Error).message).toMatch(why);
}

const validPickle = stateDictPickle([
  ['transposed', tensorOps('0', 4, 0, [2, 2], [1, 2])],
  ['offset', tensorOps('1', 6, 2, [2, 2], [2, 1])],
]);
const validStorages = { '0': floatBytes([1, 2, 3, 4]), '1': floatBytes([9, 9, 3, 4, 5, 6]) };

describe('torch.save reader: valid files (positive controls)', () => {
  it('reads strided and offset tensors of a hand-made zip file', async () => {
    const values = await readAll(file(torchZip(validPickle, validStorages)));
    expect([...values.get('transposed')!]).toEqual([1, 3, 2, 4]);
    expect([...values.get('offset')!]).toEqual([3, 4, 5, 6]);
  });

  it('reads a big-endian file (byteorder record) and a deflated storage', async () => {
    const big = new Uint8Array(16);
    const view = new DataView(big.buffer);
    [1, 2, 3, 4].forEach((v, i) => view.setFloat32(4 * i, v, false));
    const bytes = zipArchive([
      { name: 'archive/data.pkl', data: stateDictPickle([['w', tensorOps('0', 4, 0, [4], [1])]]), deflate: true },
      { name: 'archive/data/0', data: big, deflate: true },
      { name: 'archive/byteorder', data: Buffer.from('big') },
    ]);
    expect([...(await readAll(file(bytes))).get('w')!]).toEqual([1, 2, 3, 4]);
  });
});

describe('torch.save reader: the legacy format', () => {
  // Legacy persistent ids carry a sixth element, view_metadata: None since PyTorch 0.4.
  const main = stateDictPickle([['w', tensorOps('k', 4, 0, [4], [1], 'FloatStorage', op.none())]]);

  it('reads a hand-made legacy file', async () => {
    expect([...(await readAll(file(legacyFile(main, [['k', floatBytes([1, 2, 3, 4]), 4]])))).get('w')!]).toEqual([1, 2, 3, 4]);
  });

  it('refuses truncated storages, wrong counts and unknown keys', async () => {
    await expectRefused(
      legacyFile(main, [['k', floatBytes([1, 2, 3]), 4]]),
      /storage "k" needs 16 bytes at byte \d+, the file ends first: truncated/,
    );
    await expectRefused(legacyFile(main, [['k', floatBytes([1, 2, 3, 4]), 5]]), /storage "k" holds 5 elements, the pickle says 4/);
    await expectRefused(legacyFile(main, [['other', floatBytes([1, 2, 3, 4]), 4]]), /lists storage "other", which no tensor uses/);
    await expectRefused(legacyFile(main, [['k', floatBytes([1, 2, 3, 4]), 4]]).subarray(0, 40), /truncated or damaged/);
    const view = stateDictPickle([['w', tensorOps('k', 4, 0, [4], [1], 'FloatStorage', op.int(0))]]);
    await expectRefused(legacyFile(view, [['k', floatBytes([1, 2, 3, 4]), 4]]), /storage views \(PyTorch before 0\.4\) are not supported/);
  });
});

describe('torch.save reader: hostile pickles are refused, nothing runs', () => {
  const marker = path.join(tmp, 'pwned');
  const call = (globalOps: number[][]) => pickle(op.proto(2), ...globalOps, op.str(`touch ${marker}`), op.tuple1(), op.reduce(), op.stop());

  it('os.system and posix.system through GLOBAL and REDUCE', async () => {
    await expectRefused(torchZip(call([op.global('os', 'system')])), /global os\.system, which is not allowed \(pickle byte 2\)/);
    await expectRefused(torchZip(call([op.global('posix', 'system')])), /global posix\.system, which is not allowed/);
    expect(existsSync(marker)).toBe(false);
  });

  it('builtins.eval through STACK_GLOBAL', async () => {
    const bytes = pickle(
      op.proto(4),
      op.shortStr('builtins'),
      op.shortStr('eval'),
      op.stackGlobal(),
      op.str('1+1'),
      op.tuple1(),
      op.reduce(),
      op.stop(),
    );
    await expectRefused(torchZip(bytes), /global builtins\.eval, which is not allowed/);
  });

  it('INST, OBJ, NEWOBJ and the extension registry', async () => {
    await expectRefused(
      torchZip(pickle(op.proto(2), op.mark(), op.str('x'), [0x69, ...Buffer.from('os\nsystem\n')], op.stop())),
      /opcode INST, which is not allowed: it instantiates/,
    );
    await expectRefused(torchZip(pickle(op.proto(2), op.mark(), op.global('collections', 'OrderedDict'), [0x6f], op.stop())), /opcode OBJ/);
    await expectRefused(
      torchZip(pickle(op.proto(2), op.global('collections', 'OrderedDict'), op.emptyTuple(), [0x81], op.stop())),
      /opcode NEWOBJ/,
    );
    await expectRefused(torchZip(pickle(op.proto(2), [0x82, 1], op.stop())), /opcode EXT1.*extension registry/);
  });

  it('unknown opcodes and the text opcodes of protocol 0', async () => {
    await expectRefused(torchZip(pickle(op.proto(2), [0xff], op.stop())), /unknown opcode 0xff \(pickle byte 2\)/);
    await expectRefused(torchZip(pickle([...Buffer.from('I42\n.')])), /opcode INT, which is not allowed/);
    await expectRefused(torchZip(pickle(op.proto(1), op.none(), op.stop())), /pickle protocol 1/);
  });

  it('calling a storage class, calling a non-global, BUILD on a tensor, odd persistent ids', async () => {
    await expectRefused(
      torchZip(pickle(op.proto(2), op.global('torch', 'FloatStorage'), op.emptyTuple(), op.reduce(), op.stop())),
      /may appear only as a value/,
    );
    await expectRefused(
      torchZip(pickle(op.proto(2), op.str('os.system'), op.emptyTuple(), op.reduce(), op.stop())),
      /REDUCE calls a str; only allowed globals can be called/,
    );
    const build = stateDictPickle([['w', [...tensorOps('0', 4, 0, [4], [1]), op.emptyDict(), op.build()]]]);
    await expectRefused(torchZip(build, validStorages), /BUILD sets the state of a TorchTensor/);
    await expectRefused(torchZip(pickle(op.proto(2), op.str('x'), op.binpersid(), op.stop())), /persistent id: only \('storage'/);
    const badType = stateDictPickle([['w', tensorOps('0', 4, 0, [4], [1], 'UntypedStorage')]]);
    await expectRefused(torchZip(badType), /global torch\.UntypedStorage, which is not allowed/);
  });

  it('huge lengths are refused before anything is allocated', async () => {
    const huge = pickle(op.proto(2), [0x58, 0xff, 0xff, 0xff, 0xff], [...Buffer.from('abc')], op.stop());
    await expectRefused(torchZip(huge), /needs 4294967295 more bytes but only 4 remain/);
    const huge8 = pickle(op.proto(4), [0x8e, 0, 0, 0, 0, 0, 0, 0, 0x40], op.stop());
    await expectRefused(torchZip(huge8), /needs \d+ more bytes but only 1 remain/);
    await expectRefused(
      torchZip(pickle(op.proto(2), op.longBinget(0xfffffff0), op.stop())),
      /memo entry 4294967280, which was never stored/,
    );
    await expectRefused(torchZip(pickle(op.proto(2), [0x8b, 0xff, 0xff, 0xff, 0x7f], op.stop())), /2147483647-byte integer/);
  });

  it('tensors outside their storage, negative strides, storages shorter than they claim or missing', async () => {
    await expectRefused(
      torchZip(stateDictPickle([['w', tensorOps('0', 4, 0, [3, 3], [3, 1])]]), validStorages),
      /reaches element 8 of storage "0", which holds 4/,
    );
    await expectRefused(
      torchZip(stateDictPickle([['w', tensorOps('0', 4, 2, [1e9, 1e9], [1e9, 1e9])]]), validStorages),
      /reaches element \d+ of storage "0", which holds 4/,
    );
    await expectRefused(
      torchZip(stateDictPickle([['w', tensorOps('0', 4, 0, [2], [-1])]]), validStorages),
      /stride\[0\] must be a non-negative integer/,
    );
    await expectRefused(
      torchZip(stateDictPickle([['w', tensorOps('0', 1000, 0, [4], [1])]]), validStorages),
      /storage "0" should hold 1000 float32 values \(4000 bytes\), its entry holds 16 bytes/,
    );
    await expectRefused(torchZip(stateDictPickle([['w', tensorOps('7', 4, 0, [4], [1])]]), validStorages), /storage "7" is missing/);
  });

  it('a whole pickled model is refused with advice', async () => {
    const module = pickle(op.proto(2), op.global('__main__', 'AlexNet'), op.emptyTuple(), [0x81], op.stop());
    await expectRefused(torchZip(module), /global __main__\.AlexNet, which is not allowed.*torch\.save\(model\.state_dict\(\), path\)/);
  });
});

describe('torch.save reader: damaged zips and zip bombs are refused', () => {
  const valid = torchZip(validPickle, validStorages);

  it('a data.pkl that inflates past its declared size stops at that size', async () => {
    // 64 MiB of zeros deflate to about 64 KiB; the header claims 100 bytes.
    const bomb = zipArchive([{ name: 'archive/data.pkl', data: new Uint8Array(64 << 20), deflate: true, claimedSize: 100 }]);
    expect(bomb.length).toBeLessThan(1 << 20);
    await expectRefused(bomb, /does not inflate to its declared 100 bytes/);
  });

  it('an entry that claims more than its limit is refused before inflating', async () => {
    const bomb = zipArchive([{ name: 'archive/data.pkl', data: new Uint8Array(1000), deflate: true, claimedSize: 2 ** 31 }]);
    await expectRefused(bomb, /extracts to 2147483648 bytes, more than the 67108864 allowed/);
  });

  it('a small deflated pickle cannot make millions of objects, memo entries or stack values', async () => {
    /** A deflated data.pkl: PROTO 2, `count` times `unit`, then NONE and STOP. */
    const bomb = (count: number, unit: (i: number) => number[], prefix: number[] = []) => {
      const size = unit(0).length;
      const body = new Uint8Array(2 + prefix.length + count * size + 2);
      body.set([0x80, 2, ...prefix]);
      for (let i = 0, at = 2 + prefix.length; i < count; i++, at += size) body.set(unit(i), at);
      body.set([0x4e, 0x2e], body.length - 2);
      return zipArchive([{ name: 'archive/data.pkl', data: body, deflate: true }]);
    };
    const stack = bomb(PICKLE_LIMITS.stack + 1, () => [0x4e]); // NONE
    expect(stack.length).toBeLessThan(64 << 10);
    await expectRefused(stack, /holds more than 1048576 values on the stack/);
    await expectRefused(
      bomb(PICKLE_LIMITS.objects + 1, () => [0x5d, 0x30]),
      /makes more than 2097152 objects/,
    ); // EMPTY_LIST, POP
    const memo = bomb(PICKLE_LIMITS.memo + 1, (i) => [0x72, i & 0xff, (i >> 8) & 0xff, (i >> 16) & 0xff, 0], [0x4e]); // NONE, then LONG_BINPUT i
    await expectRefused(memo, /stores more than 2097152 memo entries/);
  });

  it('truncated files, flipped bits, lying directories', async () => {
    await expectRefused(valid.subarray(0, valid.length >> 1), /no end-of-central-directory record/);
    await expectRefused(valid.subarray(0, valid.length - 1), /no end-of-central-directory record/);
    const flipped = Buffer.from(valid);
    flipped[valid.indexOf(Buffer.from(floatBytes([9, 9, 3, 4, 5, 6])))] ^= 1;
    await expectRefused(flipped, /entry "archive\/data\/1" fails its CRC-32 check/);
    const lying = Buffer.from(valid);
    lying.writeUInt16LE(0xffff, lying.length - 12); // total entries in the end record
    await expectRefused(lying, /claims 65535 entries in a \d+-byte central directory/);
    const twice = zipArchive([
      { name: 'archive/data.pkl', data: validPickle },
      { name: 'archive/data.pkl', data: validPickle },
    ]);
    await expectRefused(twice, /two entries named "archive\/data\.pkl"/);
    const pastEnd = Buffer.from(valid);
    const dirStart = pastEnd.readUInt32LE(pastEnd.length - 6);
    pastEnd.writeUInt32LE(dirStart + 1000, dirStart + 42); // the first entry's local header offset
    await expectRefused(pastEnd, /runs into the central directory/);
  });

  it('files that are not torch.save files', async () => {
    await expectRefused(
      Buffer.from('definitely not a checkpoint'),
      /is not a torch\.save file \(neither a zip archive nor the legacy pickle format\)/,
    );
    await expectRefused(
      zipArchive([{ name: 'notes.txt', data: Buffer.from('hi') }]),
      /not a torch\.save file \(expected one <archive>\/data\.pkl, found none\)/,
    );
    const script = zipArchive([
      { name: 'm/data.pkl', data: validPickle },
      { name: 'm/code/__torch__.py', data: Buffer.from('') },
    ]);
    await expectRefused(script, /TorchScript archive/);
    const tar = Buffer.alloc(1024);
    tar.write('ustar', 257, 'latin1');
    await expectRefused(tar, /tar-format torch checkpoint/);
  });

  it('a deflated storage is read, a storage whose bytes fail to inflate is refused', async () => {
    const deflated = deflateRawSync(floatBytes([1, 2, 3, 4]));
    const broken = Buffer.from(deflated);
    broken[0] ^= 0xff;
    const bytes = zipArchive([
      { name: 'archive/data.pkl', data: stateDictPickle([['w', tensorOps('0', 4, 0, [4], [1])]]) },
      { name: 'archive/data/0', data: floatBytes([1, 2, 3, 4]), deflate: true },
    ]);
    expect([...(await readAll(file(bytes))).get('w')!]).toEqual([1, 2, 3, 4]);
    const at = bytes.indexOf(deflated);
    expect(at).toBeGreaterThan(0);
    broken.copy(bytes, at);
    await expectRefused(bytes, /entry "archive\/data\/0" (does not inflate|inflates to|fails its CRC-32)/);
  });
});

describe('importTorchCheckpoint on hand-made files', () => {
  it('names what a state_dict for another model lacks', async () => {
    const f = file(torchZip(validPickle, validStorages));
    await expect(importTorchCheckpoint(f, { preset: 'torchvision', numClasses: 10, width: 0.0625, backend: 'cpu' })).rejects.toThrow(
      /does not fit the torchvision preset \(10 classes, width 0\.0625\): has no "features\.0\.weight"; .*and \d+ more/,
    );
  });

  it('rejects bad options with errors naming them', async () => {
    await expect(importTorchCheckpoint(path.join(tmp, 'missing.pth'))).rejects.toThrow(/missing\.pth: no such file/);
    await expect(importTorchCheckpoint('x.pth', { preset: 'vgg' as never })).rejects.toThrow(/preset must be one of paper, .*got "vgg"/);
  });
});
