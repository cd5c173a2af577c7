/**
 * CIFAR-10 and CIFAR-100 in their binary versions (https://www.cs.toronto.edu/~kriz/cifar.html):
 * fixed-size records of label byte(s) then 3072 bytes of a 32x32 RGB image, channel planes in
 * R, G, B order (exactly our CHW layout).
 *
 * CIFAR-10 (cifar-10-batches-bin/): data_batch_1.bin ... data_batch_5.bin and test_batch.bin,
 * records of 1 + 3072 bytes, class names in batches.meta.txt.
 * CIFAR-100 (cifar-100-binary/): train.bin and test.bin, records of 2 + 3072 bytes (coarse label,
 * fine label), names in coarse_label_names.txt and fine_label_names.txt.
 * @module
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';

import { readRegularFile } from '../io/readFile';
import { options as checkOptions } from '../validate';
import { ArrayDataset } from './arrayDataset';
import { DatasetFormatError, DatasetNotFoundError } from './errors';
import type { Split } from './fashionMnist';

const IMAGE_BYTES = 3 * 32 * 32;

/** A CIFAR file's bytes (regular files only); a DatasetFormatError naming it when it cannot be read. */
async function readDataFile(file: string): Promise<Buffer> {
  try {
    return await readRegularFile(file, { what: 'CIFAR file' });
  } catch (error) {
    throw new DatasetFormatError((error as Error).message);
  }
}

/** CIFAR-10's class names, used when batches.meta.txt is absent. */
export const CIFAR10_CLASSES: readonly string[] = Object.freeze([
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
]);

/** `dir` itself when it holds `probe`, else its `sub` folder when that does. */
function resolveDir(dir: string, sub: string, probe: string, what: string): string {
  for (const candidate of [dir, path.join(dir, sub)]) {
    if (existsSync(path.join(candidate, probe))) return candidate;
  }
  throw new DatasetNotFoundError(
    `${what} was not found in ${dir} (looked for ${probe} there and in ${sub}/). ` +
      `Download the binary version from https://www.cs.toronto.edu/~kriz/cifar.html and extract it there.`,
    [dir, path.join(dir, sub)],
  );
}

async function readNames(file: string): Promise<string[] | undefined> {
  if (!existsSync(file)) return undefined;
  const names = (await readDataFile(file))
    .toString('utf8')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return names.length > 0 ? names : undefined;
}

/** Splits records into image bytes and the label at `labelByte`, checking the file's size. */
function parseRecords(
  files: { file: string; bytes: Uint8Array }[],
  labelBytes: number,
  labelByte: number,
  classes: number,
): { images: Uint8Array; labels: Int32Array } {
  const record = labelBytes + IMAGE_BYTES;
  let total = 0;
  for (const { file, bytes } of files) {
    if (bytes.length === 0 || bytes.length % record !== 0) {
      throw new DatasetFormatError(
        `${file}: ${bytes.length} bytes is not a whole number of ${record}-byte records: truncated or not CIFAR`,
      );
    }
    total += bytes.length / record;
  }
  const images = new Uint8Array(new SharedArrayBuffer(total * IMAGE_BYTES));
  const labels = new Int32Array(total);
  let n = 0;
  for (const { file, bytes } of files) {
    for (let at = 0; at < bytes.length; at += record, n++) {
      const label = bytes[at + labelByte]!;
      if (label >= classes) throw new DatasetFormatError(`${file}: record ${n} has label ${label}, outside the ${classes} classes`);
      labels[n] = label;
      images.set(bytes.subarray(at + labelBytes, at + record), n * IMAGE_BYTES);
    }
  }
  return { images, labels };
}

/** A split of CIFAR-10 from `dir` (the cifar-10-batches-bin folder or its parent). */
export async function loadCifar10(dir: string, split: Split): Promise<ArrayDataset> {
  const root = resolveDir(dir, 'cifar-10-batches-bin', 'test_batch.bin', 'CIFAR-10 (binary version)');
  const names = split === 'train' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ['test_batch.bin'];
  const files = await Promise.all(
    names.map(async (name) => {
      const file = path.join(root, name);
      if (!existsSync(file)) throw new DatasetNotFoundError(`CIFAR-10: ${file} is missing`, [file]);
      return { file, bytes: new Uint8Array(await readDataFile(file)) };
    }),
  );
  const classes = (await readNames(path.join(root, 'batches.meta.txt'))) ?? [...CIFAR10_CLASSES];
  const { images, labels } = parseRecords(files, 1, 0, classes.length);
  return new ArrayDataset({ images, labels, shape: [3, 32, 32], classes });
}

/** A split of CIFAR-100 from `dir` (the cifar-100-binary folder or its parent), with fine (100) or coarse (20) labels. */
export async function loadCifar100(dir: string, split: Split, options: { labels?: 'fine' | 'coarse' } = {}): Promise<ArrayDataset> {
  const kind = checkOptions(options, ['labels'], 'loadCifar100 options').labels ?? 'fine';
  if (kind !== 'fine' && kind !== 'coarse') throw new TypeError(`labels must be 'fine' or 'coarse', got ${JSON.stringify(kind)}`);
  if (kind !== 'fine' && kind !== 'coarse') throw new TypeError(`labels must be 'fine' or 'coarse', got ${JSON.stringify(kind)}`);
  const root = resolveDir(dir, 'cifar-100-binary', 'test.bin', 'CIFAR-100 (binary version)');
  const file = path.join(root, split === 'train' ? 'train.bin' : 'test.bin');
  if (!existsSync(file)) throw new DatasetNotFoundError(`CIFAR-100: ${file} is missing`, [file]);
  const count = kind === 'fine' ? 100 : 20;
  const classes = (await readNames(path.join(root, `${kind}_label_names.txt`))) ?? Array.from({ length: count }, (_, i) => String(i));
  const { images, labels } = parseRecords(
    [{ file, bytes: new Uint8Array(await readDataFile(file)) }],
    2,
    kind === 'fine' ? 1 : 0,
    classes.length,
  );
  return new ArrayDataset({ images, labels, shape: [3, 32, 32], classes });
}
