/**
 * Fashion-MNIST (Xiao, Rasul and Vollgraf 2017): 60,000 training and 10,000 test images of
 * clothing, 28x28 grey, 10 classes, in MNIST's IDX format. Also MNIST itself, whose files have the
 * same names.
 *
 * Where the files are looked for: a path given by the caller (then only there); else Debian's
 * package `dataset-fashion-mnist` (/usr/share/datasets/fashion-mnist), then the user cache
 * ($XDG_CACHE_HOME/alexnet-cuda/fashion-mnist, by default ~/.cache/alexnet-cuda/fashion-mnist).
 * Nothing is downloaded unless asked for; a download is checked against SHA-256 digests before
 * anything is kept.
 * @module
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

import { ensureDirectory, writeFileAtomic } from '../io/fileWriter';
import { getLimits } from '../limits';
import { options as checkOptions } from '../validate';
import type { ArrayDataset } from './arrayDataset';
import { ChecksumError, DatasetNotFoundError } from './errors';
import { isGzip, loadIdxDataset } from './idx';

const gunzipAsync = promisify(gunzip);

/** Fashion-MNIST's class names, by label. */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
]);

/** A split of an MNIST-style dataset. */
export type Split = 'train' | 'test';

/** The IDX file names of each split (without .gz), shared by MNIST and Fashion-MNIST. */
export const MNIST_STYLE_FILES: Readonly<
  Record<
    Split,
    {
      /** The image file's name. */
      images: string;
      /** The label file's name. */
      labels: string;
    }
  >
> = Object.freeze({
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
});

/**
 * SHA-256 of each file's decompressed content. Digests of the IDX bytes rather than of the .gz
 * files, so that recompressed copies (Debian's package re-gzips them) verify as well.
 */
export const FASHION_MNIST_SHA256: Readonly<Record<string, string>> = Object.freeze({
  'train-images-idx3-ubyte': 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
  'train-labels-idx1-ubyte': 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
  't10k-images-idx3-ubyte': '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
  't10k-labels-idx1-ubyte': '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
});

/** Where Zalando publishes the files. */
export const FASHION_MNIST_URL = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';

/** Environment variables, as process.env holds them (spelled out so that the typings need no @types/node). */
export type EnvironmentVariables = Readonly<Record<string, string | undefined>>;

/** The part of a fetch Response a download reads (the global fetch's Response fits). */
export interface DownloadResponse {
  /** Whether the status is 2xx. */
  readonly ok: boolean;
  /** The HTTP status. */
  readonly status: number;
  /** The body. */
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** A fetch function as a download calls it: the global fetch, or a stand-in (tests inject one). */
export type FetchFunction = (url: string) => Promise<DownloadResponse>;

/** Where Debian's dataset-fashion-mnist package installs the files. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** The per-user cache folder: $XDG_CACHE_HOME/alexnet-cuda, or ~/.cache/alexnet-cuda. */
export function userCacheDir(env: EnvironmentVariables = process.env): string {
  const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  return path.join(base, 'alexnet-cuda');
}

/** The folders searched for Fashion-MNIST: the given one only, else Debian's folder and the user cache. */
export function fashionMnistSearchPaths(explicit?: string, env: EnvironmentVariables = process.env): string[] {
  if (explicit) return [path.resolve(explicit)];
  return [DEBIAN_FASHION_MNIST_DIR, path.join(userCacheDir(env), 'fashion-mnist')];
}

/** The path of `name` in `dir`, compressed or not, or undefined. */
function findFile(dir: string, name: string): string | undefined {
  for (const candidate of [`${name}.gz`, name]) {
    const file = path.join(dir, candidate);
    if (existsSync(file)) return file;
  }
  return undefined;
}

/** Whether `dir` holds all four IDX files of an MNIST-style dataset. */
export function hasMnistStyleFiles(dir: string): boolean {
  return Object.values(MNIST_STYLE_FILES).every((f) => findFile(dir, f.images) && findFile(dir, f.labels));
}

/** Loads a split of an MNIST-style dataset from `dir` (file names as MNIST's, .gz or raw). */
export async function loadMnistStyleDataset(dir: string, split: Split, classes?: readonly string[]): Promise<ArrayDataset> {
  if (split !== 'train' && split !== 'test') throw new TypeError(`split must be 'train' or 'test', got ${JSON.stringify(split)}`);
  const names = MNIST_STYLE_FILES[split];
  const images = findFile(dir, names.images);
  const labels = findFile(dir, names.labels);
  if (!images || !labels) {
    throw new DatasetNotFoundError(`${dir} does not hold ${names.images}[.gz] and ${names.labels}[.gz]`, [dir]);
  }
  return loadIdxDataset(images, labels, classes);
}

/** Options for finding (and, when asked, downloading) Fashion-MNIST. */
export interface FashionMnistOptions {
  /** A folder holding the four files; searched first. */
  path?: string;
  /** Download into the user cache when not found (default false). */
  download?: boolean;
  /** The fetch to download with (default: the global fetch); tests inject their own. */
  fetch?: FetchFunction;
  /** Where to download from (default {@link FASHION_MNIST_URL}). */
  baseUrl?: string;
  /** Progress messages during a download. */
  log?: (message: string) => void;
}

function notFoundMessage(searched: string[]): string {
  return [
    'Fashion-MNIST was not found. Looked in:',
    ...searched.map((p) => `  ${p}`),
    'Get it in one of these ways:',
    '  - Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist',
    `  - download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and`,
    `    t10k-labels-idx1-ubyte.gz from ${FASHION_MNIST_URL} into ${searched.at(-1)}`,
    '  - pass --download (alexnet train) or { download: true } to fetch and verify them',
    '  - pass the folder that holds them with --data (alexnet train) or { path }',
  ].join('\n');
}

const FASHION_MNIST_OPTIONS: readonly (keyof FashionMnistOptions)[] = ['path', 'download', 'fetch', 'baseUrl', 'log'];

/**
 * The folder holding Fashion-MNIST, downloading it first only when `download` is set. A given
 * `path` is the only place looked in (and where a download goes); otherwise the standard places
 * are searched and a download goes to the user cache.
 */
export async function findFashionMnist(options: FashionMnistOptions = {}): Promise<string> {
  checkOptions(options, FASHION_MNIST_OPTIONS, 'Fashion-MNIST options');
  const searched = options.path ? [path.resolve(options.path)] : fashionMnistSearchPaths();
  const found = searched.find((dir) => hasMnistStyleFiles(dir));
  if (found) return found;
  if (!options.download) throw new DatasetNotFoundError(notFoundMessage(searched), searched);
  const target = searched.at(-1)!;
  await downloadFashionMnist(target, options);
  return target;
}

/** SHA-256 of the decompressed content of `bytes` (gzip or raw). */
async function contentDigest(bytes: Uint8Array): Promise<string> {
  const content = isGzip(bytes) ? await gunzipAsync(bytes, { maxOutputLength: getLimits().maxDecompressedBytes }) : bytes;
  return createHash('sha256').update(content).digest('hex');
}

/**
 * Downloads the four files into `dir`, checking each against {@link FASHION_MNIST_SHA256} before it
 * is written (atomically). Throws a {@link ChecksumError} naming the file on a mismatch.
 */
export async function downloadFashionMnist(dir: string, options: FashionMnistOptions = {}): Promise<void> {
  checkOptions(options, FASHION_MNIST_OPTIONS, 'Fashion-MNIST options');
  const fetchFn = options.fetch ?? globalThis.fetch;
  if (typeof fetchFn !== 'function') throw new TypeError('fetch must be a function');
  const base = options.baseUrl ?? FASHION_MNIST_URL;
  await ensureDirectory(dir);
  for (const split of ['train', 'test'] as const) {
    for (const name of [MNIST_STYLE_FILES[split].images, MNIST_STYLE_FILES[split].labels]) {
      if (findFile(dir, name)) continue;
      const url = new URL(`${name}.gz`, base.endsWith('/') ? base : `${base}/`).toString();
      options.log?.(`downloading ${url}`);
      let response: DownloadResponse;
      try {
        response = await fetchFn(url);
      } catch (error) {
        throw new DatasetNotFoundError(`could not download ${url}: ${(error as Error).message}`, [url]);
      }
      if (!response.ok) throw new DatasetNotFoundError(`could not download ${url}: HTTP ${response.status}`, [url]);
      const bytes = new Uint8Array(await response.arrayBuffer());
      let digest: string;
      try {
        digest = await contentDigest(bytes);
      } catch (error) {
        throw new ChecksumError(
          `${url}: the download is not valid gzip data (${(error as Error).message})`,
          FASHION_MNIST_SHA256[name]!,
          '',
        );
      }
      const expected = FASHION_MNIST_SHA256[name]!;
      if (digest !== expected) {
        throw new ChecksumError(
          `${url}: SHA-256 of the content is ${digest}, expected ${expected}; the file was not kept`,
          expected,
          digest,
        );
      }
      await writeFileAtomic(path.join(dir, isGzip(bytes) ? `${name}.gz` : name), bytes);
    }
  }
}

/** A split of Fashion-MNIST, found as {@link findFashionMnist} does. */
export async function loadFashionMnist(split: Split, options: FashionMnistOptions = {}): Promise<ArrayDataset> {
  const dir = await findFashionMnist(options);
  return loadMnistStyleDataset(dir, split, FASHION_MNIST_CLASSES);
}
