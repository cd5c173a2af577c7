/**
 * Image folders, torchvision's ImageFolder layout: one subfolder per class under a root, the
 * class names being the subfolders' names in sorted order, images (JPEG, PNG, WebP) inside,
 * decoded on demand with sharp.
 * @module
 */
import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';

import { checkIndex, checkIndices, type Dataset, type Sample, type WorkerSource } from './dataset';
import { decodeImage } from './decode';
import { DatasetNotFoundError } from './errors';
import { options as checkOptions, positiveInt } from '../validate';

/** File extensions read (compared case-insensitively). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp'];

/** How an {@link ImageFolderDataset} decodes its images. */
export interface ImageFolderOptions {
  /** 3 for RGB (default), 1 for grey. */
  channels?: 1 | 3;
  /** Resize the shorter side to this while decoding (cheap with libvips' shrink-on-load). Default: none. */
  resize?: number;
}

/** One subfolder per class, decoded on demand. */
export class ImageFolderDataset implements Dataset {
  /** The folder (absolute path) holding one subfolder per class. */
  readonly root: string;
  /** The class subfolders' names, sorted; labels index into this list. */
  readonly classes: readonly string[];
  /** Channels images are decoded to: 3 (RGB) or 1 (grey). */
  readonly channels: 1 | 3;
  /** The shorter side images are resized to while decoding, or null for none. */
  readonly resize: number | null;
  readonly #files: string[];
  readonly #labels: Int32Array;
  readonly #indices: Int32Array | null;

  private constructor(
    root: string,
    classes: string[],
    files: string[],
    labels: Int32Array,
    options: { channels: 1 | 3; resize: number | null },
    indices: Int32Array | null,
  ) {
    this.root = root;
    this.classes = classes;
    this.#files = files;
    this.#labels = labels;
    this.channels = options.channels;
    this.resize = options.resize;
    this.#indices = indices;
  }

  /** Scans `root` (one subfolder per class); throws a DatasetNotFoundError when it holds no images. */
  static async open(root: string, options: ImageFolderOptions = {}): Promise<ImageFolderDataset> {
    if (typeof root !== 'string' || root.length === 0) throw new TypeError('ImageFolderDataset: root must be a folder path');
    checkOptions(options, ['channels', 'resize'], 'ImageFolderDataset options');
    const channels = options.channels ?? 3;
    if (channels !== 1 && channels !== 3) throw new TypeError(`ImageFolderDataset: channels must be 1 or 3, got ${String(channels)}`);
    const resize =
      options.resize === undefined || options.resize === null ? null : positiveInt(options.resize, 'ImageFolderDataset: resize');
    const absolute = path.resolve(root);
    let entries;
    try {
      if (!(await stat(absolute)).isDirectory()) throw new Error('not a folder');
      entries = await readdir(absolute, { withFileTypes: true });
    } catch {
      throw new DatasetNotFoundError(`image folder ${absolute} does not exist or is not a folder`, [absolute]);
    }
    // Sorted by code point, as Python's sorted() orders torchvision's classes.
    const classes = entries
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
    if (classes.length === 0) {
      throw new DatasetNotFoundError(`image folder ${absolute} has no class subfolders (expected ${absolute}/<class>/<image>)`, [absolute]);
    }
    const files: string[] = [];
    const labels: number[] = [];
    for (const [label, name] of classes.entries()) {
      const dir = path.join(absolute, name);
      const images = (await readdir(dir, { withFileTypes: true }))
        .filter((e) => e.isFile() && IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase()))
        .map((e) => e.name)
        .sort();
      for (const file of images) {
        files.push(path.join(dir, file));
        labels.push(label);
      }
    }
    if (files.length === 0) {
      throw new DatasetNotFoundError(`image folder ${absolute} holds no ${IMAGE_EXTENSIONS.join('/')} images in its class subfolders`, [
        absolute,
      ]);
    }
    return new ImageFolderDataset(absolute, classes, files, Int32Array.from(labels), { channels, resize }, null);
  }

  get length(): number {
    return this.#indices ? this.#indices.length : this.#files.length;
  }

  #storage(index: number): number {
    checkIndex(index, this.length, 'ImageFolderDataset.get');
    return this.#indices ? this.#indices[index]! : index;
  }

  /** The file of sample `index`. */
  file(index: number): string {
    return this.#files[this.#storage(index)]!;
  }

  async get(index: number): Promise<Sample> {
    const at = this.#storage(index);
    const options = this.resize === null ? { channels: this.channels } : { channels: this.channels, resize: this.resize };
    return { image: await decodeImage(this.#files[at]!, options), label: this.#labels[at]! };
  }

  label(index: number): number {
    return this.#labels[this.#storage(index)]!;
  }

  subset(indices: ArrayLike<number>): ImageFolderDataset {
    const picked = checkIndices(indices, this.length, 'ImageFolderDataset.subset');
    const storage = this.#indices ? picked.map((i) => this.#indices![i]!) : picked;
    return new ImageFolderDataset(
      this.root,
      [...this.classes],
      this.#files,
      this.#labels,
      { channels: this.channels, resize: this.resize },
      storage,
    );
  }

  /** @internal */
  workerSource(): WorkerSource {
    return { kind: 'files', files: this.#files, channels: this.channels, resize: this.resize, indices: this.#indices };
  }
}
