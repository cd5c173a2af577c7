/**
 * A small synthetic image dataset for training tests that must not depend on a download: each
 * class is a bright bar at its own position on a noisy background, so a model learns it in a few
 * steps. Also written as MNIST-style IDX files for the CLI (`--dataset mnist --data DIR`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';

import { ArrayDataset } from '../../lib/data/arrayDataset';
import { Rng } from '../../lib/data/rng';

export const SYNTHETIC_CLASSES = ['bar 0', 'bar 1', 'bar 2', 'bar 3'];

/** `n` 28x28 grey images and labels. */
export function syntheticImages(n: number, seed: number, size = 28): { images: Uint8Array; labels: Uint8Array } {
  const rng = new Rng(seed);
  const images = new Uint8Array(n * size * size);
  const labels = new Uint8Array(n);
  const classes = SYNTHETIC_CLASSES.length;
  for (let i = 0; i < n; i++) {
    const label = rng.int(classes);
    labels[i] = label;
    const base = i * size * size;
    for (let p = 0; p < size * size; p++) images[base + p] = rng.int(60);
    const band = Math.floor((size / classes) * label);
    for (let y = band; y < band + Math.floor(size / classes); y++) {
      for (let x = 4; x < size - 4; x++) images[base + y * size + x] = 200 + rng.int(56);
    }
  }
  return { images, labels };
}

export function syntheticDataset(n: number, seed: number): ArrayDataset {
  const { images, labels } = syntheticImages(n, seed);
  return new ArrayDataset({ images, labels, shape: [1, 28, 28], classes: SYNTHETIC_CLASSES });
}

function idx(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, data]);
}

/** Writes train and test splits as MNIST-named IDX files (gzip) into `dir`. */
export function writeSyntheticMnist(dir: string, trainCount: number, testCount: number): void {
  mkdirSync(dir, { recursive: true });
  for (const [prefix, n, seed] of [
    ['train', trainCount, 1],
    ['t10k', testCount, 2],
  ] as const) {
    const { images, labels } = syntheticImages(n, seed);
    writeFileSync(path.join(dir, `${prefix}-images-idx3-ubyte.gz`), gzipSync(idx([n, 28, 28], images)));
    writeFileSync(path.join(dir, `${prefix}-labels-idx1-ubyte.gz`), gzipSync(idx([n], labels)));
  }
}
