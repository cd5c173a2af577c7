/**
 * The datasets the CLI knows, where their splits come from, and the transforms each uses for a
 * given model: the d2l recipe's plain resize for Fashion-MNIST, crops and flips with CIFAR's
 * statistics for CIFAR, and ImageNet-style preprocessing for image folders.
 * @module
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';

import { loadCifar10, loadCifar100 } from '../data/cifar';
import type { Dataset } from '../data/dataset';
import { DatasetNotFoundError } from '../data/errors';
import { findFashionMnist, loadMnistStyleDataset, FASHION_MNIST_CLASSES, type Split } from '../data/fashionMnist';
import { ImageFolderDataset } from '../data/imageFolder';
import { CIFAR10_MEAN, CIFAR10_STD, IMAGENET_MEAN, IMAGENET_STD } from '../data/transforms/normalize';
import type { TransformSpec } from '../data/transforms/transform';
import type { AlexNetConfig } from '../models/alexnet';
import { UsageError } from './args';

/** Datasets `alexnet train --dataset` takes. */
export type DatasetName = 'fashion-mnist' | 'mnist' | 'cifar10' | 'cifar100' | 'folder';
/** Every {@link DatasetName}. */
export const DATASETS: readonly DatasetName[] = ['fashion-mnist', 'mnist', 'cifar10', 'cifar100', 'folder'];

/** Training augmentation: none, flips, random crops (padded by 1/8), both, or both plus the paper's PCA colour noise. */
export type Augment = 'none' | 'flip' | 'crop' | 'crop-flip' | 'paper';
/** Every {@link Augment}. */
export const AUGMENTS: readonly Augment[] = ['none', 'flip', 'crop', 'crop-flip', 'paper'];

/** The default augmentation per dataset (none for the d2l recipe). */
export function defaultAugment(name: DatasetName): Augment {
  return name === 'cifar10' || name === 'cifar100' || name === 'folder' ? 'crop-flip' : 'none';
}

/** Image channels of each dataset (folders are decoded to whatever the model takes). */
function datasetChannels(name: DatasetName, model: AlexNetConfig): 1 | 3 {
  if (name === 'fashion-mnist' || name === 'mnist') return 1;
  if (name === 'folder') return model.inChannels === 1 ? 1 : 3;
  return 3;
}

/** Where `folder` keeps each split: ROOT/train and ROOT/val (or ROOT/test). */
function folderSplit(root: string, split: Split): string {
  const candidates = split === 'train' ? ['train'] : ['val', 'test'];
  for (const c of candidates) {
    const dir = path.join(root, c);
    if (existsSync(dir)) return dir;
  }
  throw new DatasetNotFoundError(
    `${root} has no ${candidates.join(' or ')} subfolder (expected ${root}/train/<class>/... and ${root}/val/<class>/...)`,
    [root],
  );
}

/** The shorter side image folders are decoded to: the input size scaled as 256 is to 224. */
export function folderDecodeSize(inputSize: number): number {
  return Math.round((inputSize * 256) / 224);
}

/** Loads one split of a dataset. */
export async function loadSplit(
  name: DatasetName,
  split: Split,
  options: { data?: string | undefined; download?: boolean; model: AlexNetConfig; log?: (m: string) => void },
): Promise<Dataset> {
  switch (name) {
    case 'fashion-mnist': {
      const dir = await findFashionMnist({
        ...(options.data ? { path: options.data } : {}),
        download: options.download ?? false,
        ...(options.log ? { log: options.log } : {}),
      });
      return loadMnistStyleDataset(dir, split, FASHION_MNIST_CLASSES);
    }
    case 'mnist':
      if (!options.data) throw new UsageError('--dataset mnist needs --data, the folder holding its four IDX files');
      return loadMnistStyleDataset(options.data, split);
    case 'cifar10':
    case 'cifar100': {
      if (!options.data) throw new UsageError(`--dataset ${name} needs --data, the folder of the binary version`);
      return name === 'cifar10' ? loadCifar10(options.data, split) : loadCifar100(options.data, split);
    }
    case 'folder': {
      if (!options.data) throw new UsageError('--dataset folder needs --data, a folder with train/ and val/ subfolders of class folders');
      return ImageFolderDataset.open(folderSplit(options.data, split), {
        channels: datasetChannels(name, options.model),
        resize: folderDecodeSize(options.model.inputSize),
      });
    }
  }
}

/** The training and evaluation transforms for a dataset and model. */
export function datasetTransforms(
  name: DatasetName,
  model: AlexNetConfig,
  augment: Augment,
): { train: TransformSpec[]; eval: TransformSpec[] } {
  const size = model.inputSize;
  const channels = datasetChannels(name, model);
  if (model.inChannels !== channels && !(channels === 1 && model.inChannels === 3)) {
    throw new UsageError(`--dataset ${name} has ${channels}-channel images but the model takes ${model.inChannels} (see --in-channels)`);
  }
  const toModelChannels: TransformSpec[] = channels === 1 && model.inChannels === 3 ? [{ kind: 'greyToRgb' }] : [];
  const pad = Math.max(1, Math.round(size / 8));
  const crop: TransformSpec[] =
    augment === 'crop' || augment === 'crop-flip' || augment === 'paper' ? [{ kind: 'randomCrop', size, padding: pad }] : [];
  const flip: TransformSpec[] =
    augment === 'flip' || augment === 'crop-flip' || augment === 'paper' ? [{ kind: 'horizontalFlip', p: 0.5 }] : [];
  if (augment === 'paper' && model.inChannels !== 3) throw new UsageError('--augment paper (PCA colour noise) needs a 3-channel model');
  const pca: TransformSpec[] = augment === 'paper' ? [{ kind: 'pcaLighting', std: 0.1 }] : [];
  switch (name) {
    case 'fashion-mnist':
    case 'mnist': {
      // The d2l recipe: resize 28 to the input size, values in [0, 1], no normalization.
      const resize: TransformSpec[] = size === 28 ? [] : [{ kind: 'resize', size: [size, size] }];
      return { train: [...toModelChannels, ...resize, ...crop, ...flip, ...pca], eval: [...toModelChannels, ...resize] };
    }
    case 'cifar10':
    case 'cifar100': {
      const resize: TransformSpec[] = size === 32 ? [] : [{ kind: 'resize', size: [size, size] }];
      const norm: TransformSpec = { kind: 'normalize', mean: [...CIFAR10_MEAN], std: [...CIFAR10_STD] };
      return { train: [...resize, ...crop, ...flip, ...pca, norm], eval: [...resize, norm] };
    }
    case 'folder': {
      // ImageNet-style: decoded with the shorter side at 256/224 of the input, then a crop.
      const trainCrop: TransformSpec[] = crop.length ? [{ kind: 'randomCrop', size }] : [{ kind: 'centerCrop', size }];
      const norm: TransformSpec[] = channels === 3 ? [{ kind: 'normalize', mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] }] : [];
      return { train: [...trainCrop, ...flip, ...pca, ...norm], eval: [{ kind: 'centerCrop', size }, ...norm] };
    }
  }
}
