import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';

import { ArrayDataset } from '../../lib/data/arrayDataset';
import { CIFAR10_CLASSES, loadCifar10, loadCifar100 } from '../../lib/data/cifar';
import { randomSubset, subset } from '../../lib/data/dataset';
import { decodeImage } from '../../lib/data/decode';
import { ChecksumError, DatasetFormatError, DatasetNotFoundError } from '../../lib/data/errors';
import {
  downloadFashionMnist,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_SHA256,
  fashionMnistSearchPaths,
  findFashionMnist,
  loadFashionMnist,
  loadMnistStyleDataset,
  userCacheDir,
} from '../../lib/data/fashionMnist';
import { loadIdxDataset, parseIdx, readIdxFile } from '../../lib/data/idx';
import { ImageFolderDataset } from '../../lib/data/imageFolder';
import { requireFashionMnist } from './fashionMnist';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'alexnet-data-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function idxBytes(dims: number[], values: ArrayLike<number>): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(Uint8Array.from(values))]);
}

describe('IDX files', () => {
  const images = idxBytes([3, 2, 2], [0, 1, 2, 3, 10, 11, 12, 13, 250, 251, 252, 255]);
  const labels = idxBytes([3], [2, 0, 1]);

  it('reads raw and gzip files into a dataset', async () => {
    writeFileSync(path.join(tmp, 'images.idx'), images);
    writeFileSync(path.join(tmp, 'labels.idx.gz'), gzipSync(labels));
    const ds = await loadIdxDataset(path.join(tmp, 'images.idx'), path.join(tmp, 'labels.idx.gz'), ['a', 'b', 'c']);
    expect(ds.length).toBe(3);
    expect(ds.imageShape).toEqual([1, 2, 2]);
    expect(ds.classes).toEqual(['a', 'b', 'c']);
    const s = ds.get(2);
    expect(s.label).toBe(1);
    expect([...s.image.data]).toEqual([250, 251, 252, 255].map((v) => Math.fround(v / 255)));
    expect(ds.label(0)).toBe(2);
  });

  it('rejects damaged files with a message naming the file and the problem', async () => {
    expect(() => parseIdx(images.subarray(0, images.length - 1), 'x.idx')).toThrow(
      /x\.idx: dimensions \[3, 2, 2\] need 12 bytes of data, the file has 11/,
    );
    expect(() => parseIdx(Buffer.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]), 'f.idx')).toThrow(/IDX type 0x0d is not supported/);
    expect(() => parseIdx(Buffer.from([1, 2, 3]), 'short')).toThrow(DatasetFormatError);
    expect(() => parseIdx(Buffer.from([7, 0, 8, 1, 0, 0, 0, 0]), 'm')).toThrow(/not an IDX file/);
    const gz = gzipSync(images);
    writeFileSync(path.join(tmp, 'cut.gz'), gz.subarray(0, gz.length - 8));
    await expect(readIdxFile(path.join(tmp, 'cut.gz'))).rejects.toThrow(/cut\.gz: gzip data is damaged/);
    writeFileSync(path.join(tmp, 'labels4.idx'), idxBytes([4], [0, 0, 0, 0]));
    await expect(loadIdxDataset(path.join(tmp, 'images.idx'), path.join(tmp, 'labels4.idx'))).rejects.toThrow(
      /holds 3 images but .* holds 4 labels/,
    );
  });
});

describe('Fashion-MNIST', () => {
  it('is found in the search path and loads both splits with their class names', async (ctx) => {
    const dir = requireFashionMnist(ctx);
    const train = await loadFashionMnist('train', { path: dir });
    const test = await loadFashionMnist('test', { path: dir });
    expect([train.length, test.length]).toEqual([60_000, 10_000]);
    expect(train.imageShape).toEqual([1, 28, 28]);
    expect(train.classes).toEqual(FASHION_MNIST_CLASSES);
    // Every class appears 6,000 times in the training set.
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < train.length; i++) counts[train.label(i)]++;
    expect(counts).toEqual(new Array(10).fill(6000));
    // The published first training label is 9 (ankle boot).
    expect(train.label(0)).toBe(9);
  });

  it("looks only in a given path, else in Debian's folder then the user cache", () => {
    const env = { XDG_CACHE_HOME: '/xdg' } as NodeJS.ProcessEnv;
    expect(fashionMnistSearchPaths('/given', env)).toEqual(['/given']);
    expect(fashionMnistSearchPaths(undefined, env)).toEqual(['/usr/share/datasets/fashion-mnist', '/xdg/alexnet-cuda/fashion-mnist']);
    expect(userCacheDir({})).toBe(path.join(os.homedir(), '.cache', 'alexnet-cuda'));
  });

  it('explains how to get it when it is missing, and downloads nothing unless asked', async () => {
    const empty = path.join(tmp, 'empty');
    mkdirSync(empty);
    let fetched = false;
    const fetchSpy = (async () => {
      fetched = true;
      throw new Error('no network');
    }) as unknown as typeof fetch;
    const error = await findFashionMnist({ path: empty, fetch: fetchSpy }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatasetNotFoundError);
    expect((error as Error).message).toMatch(/apt-get install dataset-fashion-mnist/);
    expect((error as Error).message).toMatch(/--download/);
    expect(fetched).toBe(false);
  });

  it('verifies downloads by SHA-256 and keeps nothing that does not match', async () => {
    const target = path.join(tmp, 'bad-download');
    const corrupt = (async () => new Response(gzipSync(Buffer.from('not the dataset')))) as unknown as typeof fetch;
    const error = await downloadFashionMnist(target, { fetch: corrupt }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChecksumError);
    expect((error as ChecksumError).message).toMatch(
      /train-images-idx3-ubyte\.gz: SHA-256 of the content is [0-9a-f]{64}, expected c59f468a/,
    );
    expect(() => readFileSync(path.join(target, 'train-images-idx3-ubyte.gz'))).toThrow();
    const missing = (async () => new Response('gone', { status: 404 })) as unknown as typeof fetch;
    await expect(downloadFashionMnist(path.join(tmp, 'nf'), { fetch: missing })).rejects.toThrow(/HTTP 404/);
  });

  it('downloads from a server with the real fetch, verifies and loads the result', async (ctx) => {
    const source = requireFashionMnist(ctx);
    const server = createServer((req, res) => {
      const name = path.basename(req.url ?? '');
      try {
        const body = readFileSync(path.join(source, name));
        res.writeHead(200, { 'content-type': 'application/gzip' }).end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const target = path.join(tmp, 'downloaded');
      const log: string[] = [];
      const dir = await findFashionMnist({ path: target, download: true, baseUrl: `http://127.0.0.1:${port}/`, log: (m) => log.push(m) });
      expect(dir).toBe(target);
      expect(log).toHaveLength(4);
      for (const [name, digest] of Object.entries(FASHION_MNIST_SHA256)) {
        const content = gunzipSync(readFileSync(path.join(target, `${name}.gz`)));
        expect(createHash('sha256').update(content).digest('hex')).toBe(digest);
      }
      const test = await loadMnistStyleDataset(target, 'test');
      expect(test.length).toBe(10_000);
    } finally {
      server.close();
    }
  });
});

describe('CIFAR binary batches', () => {
  function records(n: number, labelBytes: number, label: (i: number) => number[]): Buffer {
    const out = Buffer.alloc(n * (labelBytes + 3072));
    for (let i = 0; i < n; i++) {
      const at = i * (labelBytes + 3072);
      out.set(label(i), at);
      out.fill(i + 1, at + labelBytes, at + labelBytes + 1024); // red plane
      out.fill(100, at + labelBytes + 1024, at + labelBytes + 3072);
    }
    return out;
  }

  it('reads CIFAR-10 from its folder or the parent, with class names', async () => {
    const dir = path.join(tmp, 'cifar', 'cifar-10-batches-bin');
    mkdirSync(dir, { recursive: true });
    for (let b = 1; b <= 5; b++)
      writeFileSync(
        path.join(dir, `data_batch_${b}.bin`),
        records(2, 1, (i) => [(b + i) % 10]),
      );
    writeFileSync(
      path.join(dir, 'test_batch.bin'),
      records(3, 1, (i) => [i]),
    );
    const train = await loadCifar10(path.join(tmp, 'cifar'), 'train');
    const test = await loadCifar10(dir, 'test');
    expect([train.length, test.length]).toEqual([10, 3]);
    expect(train.classes).toEqual(CIFAR10_CLASSES);
    expect(test.label(2)).toBe(2);
    const s = test.get(1);
    expect(s.image.data[0]).toBeCloseTo(2 / 255, 7);
    expect(s.image.data[1024]).toBeCloseTo(100 / 255, 7);
    writeFileSync(path.join(dir, 'batches.meta.txt'), CIFAR10_CLASSES.map((c) => c.toUpperCase()).join('\n') + '\n\n');
    expect((await loadCifar10(dir, 'test')).classes[0]).toBe('AIRPLANE');
  });

  it('reads CIFAR-100 fine and coarse labels', async () => {
    const dir = path.join(tmp, 'cifar-100-binary');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'train.bin'),
      records(4, 2, (i) => [i, 50 + i]),
    );
    writeFileSync(
      path.join(dir, 'test.bin'),
      records(1, 2, () => [19, 99]),
    );
    const fine = await loadCifar100(tmp, 'train');
    const coarse = await loadCifar100(dir, 'test', { labels: 'coarse' });
    expect([fine.classes.length, coarse.classes.length]).toEqual([100, 20]);
    expect(fine.label(3)).toBe(53);
    expect(coarse.label(0)).toBe(19);
  });

  it('rejects truncated files and explains where to get a missing dataset', async () => {
    const dir = path.join(tmp, 'cifar-cut', 'cifar-10-batches-bin');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'test_batch.bin'), records(2, 1, () => [1]).subarray(0, 5000));
    await expect(loadCifar10(dir, 'test')).rejects.toThrow(/5000 bytes is not a whole number of 3073-byte records/);
    await expect(loadCifar10(path.join(tmp, 'nothing'), 'test')).rejects.toThrow(/cs\.toronto\.edu/);
  });
});

describe('image folders', () => {
  it('reads JPEG, PNG and WebP files from class subfolders, in sorted order', async () => {
    const root = path.join(tmp, 'folder');
    for (const cls of ['dog', 'cat']) mkdirSync(path.join(root, cls), { recursive: true });
    const red = sharp({ create: { width: 6, height: 4, channels: 3, background: { r: 255, g: 0, b: 0 } } });
    await red
      .clone()
      .png()
      .toFile(path.join(root, 'cat', 'b.png'));
    await red
      .clone()
      .webp({ lossless: true })
      .toFile(path.join(root, 'cat', 'a.WEBP'));
    await sharp(Buffer.alloc(64, 128), { raw: { width: 8, height: 8, channels: 1 } })
      .jpeg({ quality: 100 })
      .toFile(path.join(root, 'dog', 'x.jpg'));
    writeFileSync(path.join(root, 'dog', 'notes.txt'), 'ignored');
    const ds = await ImageFolderDataset.open(root);
    expect(ds.classes).toEqual(['cat', 'dog']);
    expect(ds.length).toBe(3);
    expect(path.basename(ds.file(0))).toBe('a.WEBP');
    const cat = await ds.get(1);
    expect(cat.label).toBe(0);
    expect([cat.image.channels, cat.image.height, cat.image.width]).toEqual([3, 4, 6]);
    expect(cat.image.data[0]).toBeCloseTo(1, 5);
    expect(cat.image.data[24]).toBeCloseTo(0, 5); // green plane
    const dog = await ds.get(2);
    expect(dog.image.channels).toBe(3); // grey JPEG promoted to RGB
    expect(Math.abs(dog.image.data[0] - 128 / 255)).toBeLessThan(2 / 255);
    const grey = await ImageFolderDataset.open(root, { channels: 1, resize: 2 });
    const g = await grey.get(1);
    expect([g.image.channels, g.image.height, g.image.width]).toEqual([1, 2, 3]);
    expect(grey.subset([2]).label(0)).toBe(1);
  });

  it('says what is wrong with a folder or a file', async () => {
    await expect(ImageFolderDataset.open(path.join(tmp, 'nope'))).rejects.toThrow(DatasetNotFoundError);
    const flat = path.join(tmp, 'flat');
    mkdirSync(flat);
    await expect(ImageFolderDataset.open(flat)).rejects.toThrow(/no class subfolders/);
    writeFileSync(path.join(tmp, 'broken.png'), 'not a png');
    await expect(decodeImage(path.join(tmp, 'broken.png'))).rejects.toThrow(/broken\.png: cannot decode the image/);
    await expect(decodeImage(42 as never)).rejects.toThrow(TypeError);
  });
});

describe('array datasets and subsets', () => {
  const make = () =>
    new ArrayDataset({
      images: Uint8Array.from({ length: 5 * 4 }, (_, i) => i),
      labels: [0, 1, 0, 1, 1],
      shape: [1, 2, 2],
      classes: ['x', 'y'],
    });

  it('share storage across subsets and pick random subsets reproducibly', () => {
    const ds = make();
    const sub = subset(ds, [4, 1]);
    expect(sub.length).toBe(2);
    expect(sub.label!(0)).toBe(1);
    expect((sub as ArrayDataset).bytes(0)).toEqual(Uint8Array.from([16, 17, 18, 19]));
    const r1 = randomSubset(ds, 3, 7) as ArrayDataset;
    const r2 = randomSubset(ds, 3, 7) as ArrayDataset;
    expect([0, 1, 2].map((i) => r1.bytes(i)[0])).toEqual([0, 1, 2].map((i) => r2.bytes(i)[0]));
    expect(randomSubset(ds, 10, 1)).toBe(ds);
  });

  it('validate their input', () => {
    expect(() => new ArrayDataset({ images: new Uint8Array(7), labels: [0], shape: [1, 2, 2], classes: ['a'] })).toThrow(
      /not a whole number/,
    );
    expect(() => new ArrayDataset({ images: new Uint8Array(4), labels: [3], shape: [1, 2, 2], classes: ['a'] })).toThrow(/label 0 is 3/);
    expect(() => make().get(5)).toThrow(/index 5 is out of range \[0, 5\)/);
    expect(() => subset(make(), [0, 9])).toThrow(RangeError);
  });
});
