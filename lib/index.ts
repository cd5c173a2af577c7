/**
 * alexnet-cuda: AlexNet forward and backward on cuDNN and cuBLAS (or oneDNN on the CPU), from Node.
 * @module
 */
export {
  Backend,
  backendAvailability,
  defaultBackendChoice,
  getBackend,
  MATH_MODES,
  setDefaultBackend,
  type BackendChoice,
  type BackendInfo,
  type BackendKind,
  type MathMode,
  type MemoryStats,
} from './backend/backend';
export {
  CheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
  loadModel,
  loadOptimizerState,
  loadParameters,
  modelFromCheckpoint,
  readCheckpoint,
  saveCheckpoint,
  type Checkpoint,
  type CheckpointContents,
  type LoadModelOptions,
  type StoredTensor,
} from './checkpoint/format';
export * from './data/index';
export * as transforms from './data/transforms/index';
export { BackendError, BackendUnavailableError, CaptureError, DeviceLostError, OutOfMemoryError } from './errors';
export { CheckpointDirectory, resolveCheckpointFile, type CheckpointDirectoryOptions } from './checkpoint/directory';
export { RunFolderError } from './checkpoint/runFolder';
export { FileError } from './io/fileError';
export type { OutputStream } from './io/output';
export { DEFAULT_LIMITS, getLimits, setLimits, type Limits } from './limits';
export { ModelBusyError, type ModelJob } from './models/modelUse';
export { encodeOnnx, exportOnnx, ONNX_OPSET, type OnnxExportOptions } from './interop/onnxExport';
export { importTorchCheckpoint, type TorchImportOptions } from './interop/torchImport';
export {
  AlexNet,
  createAlexNet,
  PRESETS,
  resolveConfig,
  type AlexNetConfig,
  type AlexNetOptions,
  type PresetName,
  type ReplaceHeadOptions,
} from './models/alexnet';
export { formatSummary, summarize, type LayerSummary, type ModelSummary } from './models/summary';
export { initialize, INIT_SCHEMES, type InitScheme } from './models/init';
export * as nn from './nn/index';
export * as ops from './ops/index';
export {
  chain,
  constantLR,
  cosineLR,
  linearWarmup,
  multiStepLR,
  parseSchedule,
  reduceOnPlateau,
  stepLR,
  type LrSchedule,
  type PlateauOptions,
  type SchedulePosition,
  type ScheduleState,
} from './optim/schedules';
export { SGD, type SgdOptions, type SgdState, type SgdGroupOptions } from './optim/sgd';
export { Adam, type AdamOptions, type AdamGroupOptions, type AdamState } from './optim/adam';
export { AdamW } from './optim/adamw';
export {
  Optimizer,
  type OptimizerState,
  type OptimizerType,
  type ParamGroup,
  type ParamGroupState,
  type UpdateTensors,
} from './optim/optimizer';
export { type ParamGroupInput, type ParamsInput } from './optim/paramGroups';
export { createOptimizer, optimizerTypeOf, OPTIMIZER_TYPES, type OptimizerChoice, type SgdChoice, type AdamChoice } from './optim/choice';
export { renderCurvesSvg, writeCurvesPng, type CurvePoint } from './plot';
export { predict, type ClassScore, type Prediction, type PredictInput, type PredictOptions } from './predict';
export { deriveSeed, nextSeed, resetSeedCounter } from './random';
export {
  Tensor,
  type DType,
  type HostArray,
  type NestedArray,
  type NestedArrayOfRank,
  type NumericDType,
  type Seed,
  type TensorOptions,
} from './tensor';
export {
  Trainer,
  type BatchInfo,
  type EvalResult,
  type EvaluateOptions,
  type FitOptions,
  type FitResult,
  type TrainerCallbacks,
} from './training/trainer';
export { TrainingDivergedError } from './training/divergence';
export {
  EARLY_STOPPING_METRICS,
  EarlyStopping,
  type EarlyStop,
  type EarlyStoppingMetric,
  type EarlyStoppingOptions,
  type EarlyStoppingVerdict,
} from './training/earlyStopping';
export type { EpochRecord } from './training/epochRecord';
export type { ProgressMode } from './training/progress';
