/**
 * Image transforms for training and evaluation, all seeded (random ones draw only from the
 * stream they are given). Each has a plain-data spec, so it can run in a worker thread and be
 * stored in a checkpoint.
 * @module
 */
export { CenterCrop, RandomCrop, centerCrop, cropImage, randomCrop } from './crop';
export { HorizontalFlip, flipHorizontal, horizontalFlip } from './flip';
export { GreyToRgb, greyToRgb } from './greyToRgb';
export { CIFAR10_MEAN, CIFAR10_STD, IMAGENET_MEAN, IMAGENET_STD, Normalize, normalize } from './normalize';
export { IMAGENET_PCA, PcaLighting, computeRgbPca, pcaLighting, symmetricEigen3, type RgbPca } from './pcaLighting';
export { Pipeline, transformFromSpec, type TransformList } from './pipeline';
export { Resize, bilinearTable, resize, type ResampleTable } from './resize';
export type { Size2d, Transform, TransformSpec } from './transform';
