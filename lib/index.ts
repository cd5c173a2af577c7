/**
 * alexnet-cuda: AlexNet forward and backward on cuDNN and cuBLAS (or oneDNN on the CPU), from Node.
 * @module
 */
export {
  Backend,
  backendAvailability,
  defaultBackendChoice,
  getBackend,
  setDefaultBackend,
  type BackendChoice,
  type BackendInfo,
  type BackendKind,
  type MathMode,
  type MemoryStats,
} from './backend/backend';
export { BackendError, BackendUnavailableError, DeviceLostError, OutOfMemoryError } from './errors';
export { AlexNet, createAlexNet, PRESETS, resolveConfig, type AlexNetConfig, type AlexNetOptions, type PresetName } from './models/alexnet';
export { initialize, INIT_SCHEMES, type InitScheme } from './models/init';
export * as nn from './nn/index';
export * as ops from './ops/index';
export { deriveSeed, nextSeed, resetSeedCounter } from './random';
export { Tensor, type DType, type HostArray, type Seed, type TensorOptions } from './tensor';
