/**
 * Data: datasets (IDX/MNIST/Fashion-MNIST, CIFAR binary batches, image folders), decoding, and the
 * batch loader. Transforms are exported separately as `transforms`.
 * @module
 */
export { ArrayDataset, type ArrayDatasetOptions } from './arrayDataset';
export { CIFAR10_CLASSES, loadCifar10, loadCifar100 } from './cifar';
export { randomSubset, subset, Subset, type Dataset, type Sample } from './dataset';
export { decodeImage, type DecodeOptions } from './decode';
export { ChecksumError, DatasetFormatError, DatasetNotFoundError } from './errors';
export {
  DEBIAN_FASHION_MNIST_DIR,
  downloadFashionMnist,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_SHA256,
  FASHION_MNIST_URL,
  fashionMnistSearchPaths,
  findFashionMnist,
  loadFashionMnist,
  loadMnistStyleDataset,
  MNIST_STYLE_FILES,
  userCacheDir,
  type DownloadResponse,
  type EnvironmentVariables,
  type FashionMnistOptions,
  type FetchFunction,
  type Split,
} from './fashionMnist';
export { imageFromBytesCHW, imageFromBytesHWC, type Image, type ImageShape } from './image';
export { loadIdxDataset, parseIdx, readIdxFile, type IdxArray } from './idx';
export { IMAGE_EXTENSIONS, ImageFolderDataset, type ImageFolderOptions } from './imageFolder';
export { devicePreprocessPlan, type DevicePreprocessPlan } from './devicePreprocess';
export { DataLoader, type Batch, type DataLoaderOptions } from './loader';
export { permutation, Rng } from './rng';
