/**
 * Checkpoints in the safetensors format.
 *
 * - Parameters are stored under the model's names with PyTorch's layouts, so for the
 *   torchvision preset a weights-only file loads into torchvision.models.alexnet with
 *   `model.load_state_dict(safetensors.torch.load_file(path), strict=True)`.
 * - The model's configuration, class names and evaluation preprocessing are in the metadata, so
 *   {@link loadModel} rebuilds the model and `predict` preprocesses as evaluation did.
 * - A training checkpoint adds the optimizer (its state tensors named
 *   `optimizer.<slot>.<parameter>` with torch's slot names: `momentum_buffer` for SGD, `exp_avg`
 *   and `exp_avg_sq` for Adam and AdamW; which optimizer, its parameter groups' options and
 *   learning rates and the step counts in the metadata) and the
 *   Trainer's position (epoch, step, data-loader and dropout streams, schedule), so resuming
 *   continues exactly. Strict PyTorch loading wants weights only: drop the `optimizer.` tensors.
 * - Writes are atomic (see io/fileWriter); reads validate the header and every offset and throw a
 *   {@link CheckpointError} (or SafetensorsError) naming the file and the problem.
 * - Limits before work: only regular files are read, at their real size (a FIFO or a link to
 *   /dev/zero is refused at once); a stored configuration must come with every parameter it
 *   implies, checked without allocating (see models/parameterShapes), so a small file claiming a
 *   huge model is refused before any model memory exists; stored preprocessing is checked against
 *   the image limits (see limits.ts).
 * @module
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { packageRoot } from '../backend/packageRoot';
import { MATH_MODES, type Backend, type BackendChoice, type MathMode } from '../backend/backend';
import { Pipeline } from '../data/transforms/pipeline';
import type { TransformSpec } from '../data/transforms/transform';
import { FileError } from '../io/fileError';
import { writeFileAtomic } from '../io/fileWriter';
import { readRegularFile } from '../io/readFile';
import { decodeSafetensors, encodeSafetensors, type SafetensorsArray } from '../io/safetensors';
import { AlexNet, createAlexNet, resolveConfig, type AlexNetConfig, type AlexNetOptions } from '../models/alexnet';
import { parameterShapes } from '../models/parameterShapes';
import type { Optimizer, OptimizerState, OptimizerType } from '../optim/optimizer';
import type { SgdState } from '../optim/sgd';
import { Tensor } from '../tensor';
import { describe, options as checkOptions } from '../validate';

/** A checkpoint that cannot be used: damaged, incomplete, or for another model. */
export class CheckpointError extends Error {
  /** Always 'CheckpointError'. */
  override readonly name = 'CheckpointError';
  /** Always 'ERR_CHECKPOINT': a stable code to test instead of the message. */
  readonly code = 'ERR_CHECKPOINT';
}

/** Metadata keys (safetensors metadata is a string-to-string map; structured values are JSON). */
export const METADATA_KEYS = Object.freeze({
  format: 'format',
  version: 'alexnet-cuda.version',
  config: 'alexnet-cuda.config',
  classes: 'alexnet-cuda.classes',
  preprocessing: 'alexnet-cuda.preprocessing',
  optimizer: 'alexnet-cuda.optimizer',
  training: 'alexnet-cuda.training',
  precision: 'alexnet-cuda.precision',
});

/** The prefix of SGD's momentum buffers. */
export const MOMENTUM_PREFIX = 'optimizer.momentum_buffer.';
/** The prefix of every optimizer tensor: `optimizer.<slot>.<parameter>`. */
export const OPTIMIZER_PREFIX = 'optimizer.';
/** The state slots optimizers keep per parameter (torch.optim's names). */
const OPTIMIZER_SLOTS = ['momentum_buffer', 'exp_avg', 'exp_avg_sq'];
const OPTIMIZER_TYPES: readonly OptimizerType[] = ['sgd', 'adam', 'adamw'];

/** What to store besides the parameters. */
export interface CheckpointContents {
  /** Class names by output index (default: the model's `classes`). */
  classes?: readonly string[] | null;
  /** The preprocessing evaluation uses (default: the model's `preprocessing`). */
  preprocessing?: readonly TransformSpec[] | null;
  /** The optimizer: its state tensors and state make this a training checkpoint. */
  optimizer?: Optimizer;
  /** The Trainer's position (JSON-serializable). */
  training?: unknown;
  /** Extra metadata entries. */
  metadata?: Record<string, string>;
}

/** A host-side tensor read from a checkpoint. */
export interface StoredTensor {
  /** Dimensions, in PyTorch's layout (conv weights [out, in/groups, kh, kw], linear weights [out, in]). */
  shape: number[];
  /** The values in row-major order (as many as the shape's element count). */
  data: Float32Array;
}

/** A decoded, validated checkpoint. */
export interface Checkpoint {
  /** Where it was read from (for messages). */
  source: string;
  /** The model's configuration, or null for a file without our metadata (a PyTorch state_dict). */
  config: AlexNetConfig | null;
  /** Class names by output index, or null when none were stored. */
  classes: string[] | null;
  /** The evaluation preprocessing {@link predict} applies, or null when none was stored. */
  preprocessing: TransformSpec[] | null;
  /** Parameters by name. */
  parameters: Map<string, StoredTensor>;
  /** The optimizer's state and state tensors (by parameter name), when saved. */
  optimizer: {
    /** Which optimizer ('sgd' for a checkpoint from before there were others). */
    type: OptimizerType;
    /** Options, learning rates and step counts (an SGD state from before parameter groups lacks `groups` and `paramSteps`). */
    state: SgdState | OptimizerState;
    /** Momentum buffers by parameter name (empty when the optimizer had no momentum): `tensors.get('momentum_buffer')`. */
    momentum: Map<string, StoredTensor>;
    /** State tensors by slot ('momentum_buffer', 'exp_avg', 'exp_avg_sq'), then by parameter name. */
    tensors: Map<string, Map<string, StoredTensor>>;
  } | null;
  /** The Trainer's position, when saved. */
  training: unknown;
  /**
   * The math mode (precision) of the backend the model was on when saved ('fp32', 'tf32' or
   * 'bf16'), or null for files that do not say (older ones, PyTorch's). The parameters are fp32
   * in every mode; a resumed `alexnet train` run keeps this precision unless told otherwise.
   */
  precision: MathMode | null;
  /** All metadata entries as stored. */
  metadata: Record<string, string>;
}

let version: string | undefined;
function packageVersion(): string {
  if (version === undefined) {
    try {
      version = (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      version = 'unknown';
    }
  }
  return version;
}

/** The name each optimizer buffer is stored under: the name of the parameter it belongs to. */
function optimizerNames(model: AlexNet, optimizer: Optimizer): string[] {
  const named = model.namedParameters();
  return optimizer.params.map((p, i) => {
    const found = named.find(([, q]) => q === p);
    if (!found) throw new TypeError(`optimizer parameter ${i} (${p.name}) is not a parameter of the model`);
    return found[0];
  });
}

/**
 * Serializes a model (and optionally its training state) to safetensors bytes (a Node Buffer at run
 * time, typed as Uint8Array so that the typings need no @types/node).
 */
export async function encodeCheckpoint(model: AlexNet, contents: CheckpointContents = {}): Promise<Uint8Array> {
  if (!(model instanceof AlexNet)) throw new TypeError(`model must be an AlexNet, got ${describe(model)}`);
  checkOptions(contents, ['classes', 'preprocessing', 'optimizer', 'training', 'metadata'], 'checkpoint contents');
  const tensors: Record<string, { shape: readonly number[]; data: SafetensorsArray }> = {};
  for (const [name, p] of model.namedParameters()) {
    tensors[name] = { shape: [...p.value.shape], data: await p.value.toArray() };
  }
  const metadata: Record<string, string> = {
    [METADATA_KEYS.format]: 'pt',
    [METADATA_KEYS.version]: packageVersion(),
    [METADATA_KEYS.config]: JSON.stringify(model.config),
    [METADATA_KEYS.precision]: model.backend.mathMode,
  };
  const classes = contents.classes === undefined ? model.classes : contents.classes;
  if (classes) {
    if (classes.length !== model.config.numClasses) {
      throw new RangeError(`classes has ${classes.length} names but the model has ${model.config.numClasses} outputs`);
    }
    metadata[METADATA_KEYS.classes] = JSON.stringify(classes);
  }
  const preprocessing = contents.preprocessing === undefined ? model.preprocessing : contents.preprocessing;
  if (preprocessing) metadata[METADATA_KEYS.preprocessing] = JSON.stringify(preprocessing);
  if (contents.optimizer) {
    const opt = contents.optimizer;
    metadata[METADATA_KEYS.optimizer] = JSON.stringify(opt.getState());
    const names = optimizerNames(model, opt);
    for (const [i, p] of opt.params.entries()) {
      for (const [slot, t] of Object.entries(opt.stateOf(p) ?? {})) {
        tensors[`${OPTIMIZER_PREFIX}${slot}.${names[i]!}`] = { shape: [...t.shape], data: await t.toArray() };
      }
    }
  }
  if (contents.training !== undefined) metadata[METADATA_KEYS.training] = JSON.stringify(contents.training);
  for (const [k, v] of Object.entries(contents.metadata ?? {})) {
    if (typeof v !== 'string') throw new TypeError(`metadata[${JSON.stringify(k)}] must be a string, got ${describe(v)}`);
    metadata[k] = v;
  }
  return encodeSafetensors(tensors, metadata);
}

/**
 * Writes a checkpoint atomically (temporary file, fsync, rename, fsync of the folder); throws a
 * FileError naming the file and the cause (ENOSPC, EACCES, ...) when it cannot be written.
 */
export async function saveCheckpoint(file: string, model: AlexNet, contents: CheckpointContents = {}): Promise<void> {
  if (typeof file !== 'string' || file.length === 0) throw new TypeError(`file must be a path, got ${describe(file)}`);
  await writeFileAtomic(file, await encodeCheckpoint(model, contents));
}

function parseJson<T>(
  metadata: Record<string, string>,
  key: string,
  source: string,
  check: (v: unknown) => boolean,
  expected: string,
): T | null {
  const text = metadata[key];
  if (text === undefined) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CheckpointError(`${source}: metadata ${JSON.stringify(key)} is not valid JSON (${(error as Error).message})`);
  }
  if (!check(value)) throw new CheckpointError(`${source}: metadata ${JSON.stringify(key)} is not ${expected}`);
  return value as T;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

/**
 * Checks stored parameters against the shapes a model needs (from {@link parameterShapes}): every
 * name present with the same shape and, with `strict`, no name the model lacks.
 */
function checkParameterShapes(stored: Map<string, StoredTensor>, expected: Map<string, number[]>, source: string, strict: boolean): void {
  for (const [name, shape] of expected) {
    const t = stored.get(name);
    if (!t) throw new CheckpointError(`${source}: has no parameter ${JSON.stringify(name)}, which the model needs`);
    if (shapeText(t.shape) !== shapeText(shape)) {
      throw new CheckpointError(
        `${source}: parameter ${JSON.stringify(name)} has shape ${shapeText(t.shape)}, the model's is ${shapeText(shape)}`,
      );
    }
  }
  if (strict) {
    const extra = [...stored.keys()].filter((k) => !expected.has(k));
    if (extra.length > 0) {
      throw new CheckpointError(
        `${source}: holds parameters the model does not have: ${extra
          .slice(0, 5)
          .map((n) => JSON.stringify(n))
          .join(', ')}${extra.length > 5 ? ', ...' : ''}`,
      );
    }
  }
}

/** The parameter shapes of a configuration, or a CheckpointError naming the file when it cannot be built. */
function shapesFor(config: AlexNetConfig, source: string): Map<string, number[]> {
  try {
    return parameterShapes(config);
  } catch (error) {
    throw new CheckpointError(`${source}: the stored model configuration is invalid (${(error as Error).message})`);
  }
}

/**
 * Parses and validates checkpoint bytes; `source` names them in errors. A stored configuration
 * must come with every parameter it implies, with the right shapes (checked without allocating).
 */
export function decodeCheckpoint(bytes: Uint8Array, source = 'checkpoint'): Checkpoint {
  const file = decodeSafetensors(bytes, source);
  const { metadata } = file;
  const configRaw = parseJson<Record<string, unknown>>(metadata, METADATA_KEYS.config, source, isObject, 'an object');
  let config: AlexNetConfig | null = null;
  if (configRaw) {
    const seed = configRaw.seed;
    if (typeof seed !== 'string' || !/^\d+$/.test(seed)) {
      throw new CheckpointError(`${source}: the stored model configuration has no valid seed (got ${describe(seed)})`);
    }
    try {
      config = resolveConfig({ ...(configRaw as AlexNetOptions), seed: BigInt(seed) });
    } catch (error) {
      throw new CheckpointError(`${source}: the stored model configuration is invalid (${(error as Error).message})`);
    }
  }
  const classes = parseJson<string[]>(
    metadata,
    METADATA_KEYS.classes,
    source,
    (v) => Array.isArray(v) && v.every((c) => typeof c === 'string'),
    'an array of class names',
  );
  if (classes && config && classes.length !== config.numClasses) {
    throw new CheckpointError(`${source}: ${classes.length} class names for a model with ${config.numClasses} outputs`);
  }
  const preprocessing = parseJson<TransformSpec[]>(
    metadata,
    METADATA_KEYS.preprocessing,
    source,
    (v) => Array.isArray(v) && v.every((s) => isObject(s) && typeof s.kind === 'string'),
    'an array of transform specs',
  );
  if (preprocessing) {
    try {
      new Pipeline(preprocessing); // every option checked, sizes within the image limits
    } catch (error) {
      throw new CheckpointError(`${source}: the stored preprocessing is invalid (${(error as Error).message})`);
    }
  }
  const optimizerState = parseJson<SgdState | OptimizerState>(
    metadata,
    METADATA_KEYS.optimizer,
    source,
    (v) =>
      isObject(v) &&
      typeof v.lr === 'number' &&
      Number.isInteger(v.steps) &&
      (v.type === undefined
        ? typeof v.momentum === 'number'
        : OPTIMIZER_TYPES.includes(v.type as OptimizerType) && Array.isArray(v.groups)),
    'an optimizer state {type, lr, steps, groups, ...}',
  );
  const precisionText = metadata[METADATA_KEYS.precision];
  if (precisionText !== undefined && !MATH_MODES.includes(precisionText as MathMode)) {
    throw new CheckpointError(
      `${source}: metadata ${JSON.stringify(METADATA_KEYS.precision)} must be one of ${MATH_MODES.join(', ')}, got ${JSON.stringify(precisionText)}`,
    );
  }
  const trainingText = metadata[METADATA_KEYS.training];
  let training: unknown = null;
  if (trainingText !== undefined) training = parseJson(metadata, METADATA_KEYS.training, source, isObject, 'an object');
  const parameters = new Map<string, StoredTensor>();
  const optimizerTensors = new Map<string, Map<string, StoredTensor>>();
  for (const [name, t] of file.tensors) {
    if (t.dtype !== 'F32') throw new CheckpointError(`${source}: tensor ${JSON.stringify(name)} is ${t.dtype}, expected F32`);
    const stored = { shape: t.shape, data: t.data as Float32Array };
    const slot = OPTIMIZER_SLOTS.find((s) => name.startsWith(`${OPTIMIZER_PREFIX}${s}.`));
    if (slot) {
      const bySlot = optimizerTensors.get(slot) ?? new Map<string, StoredTensor>();
      bySlot.set(name.slice(OPTIMIZER_PREFIX.length + slot.length + 1), stored);
      optimizerTensors.set(slot, bySlot);
    } else if (name.startsWith(OPTIMIZER_PREFIX)) {
      throw new CheckpointError(
        `${source}: tensor ${JSON.stringify(name)} is of no optimizer state this version knows (${OPTIMIZER_SLOTS.join(', ')})`,
      );
    } else {
      parameters.set(name, stored);
    }
  }
  if (optimizerTensors.size > 0 && !optimizerState) {
    throw new CheckpointError(
      `${source}: holds optimizer state tensors but no optimizer state (metadata ${JSON.stringify(METADATA_KEYS.optimizer)})`,
    );
  }
  if (config) checkParameterShapes(parameters, shapesFor(config, source), source, false);
  return {
    source,
    config,
    classes,
    preprocessing,
    parameters,
    optimizer: optimizerState
      ? {
          type: (optimizerState as Partial<OptimizerState>).type ?? 'sgd',
          state: optimizerState,
          momentum: optimizerTensors.get('momentum_buffer') ?? new Map<string, StoredTensor>(),
          tensors: optimizerTensors,
        }
      : null,
    training,
    precision: (precisionText as MathMode | undefined) ?? null,
    metadata,
  };
}

/**
 * Reads and validates a checkpoint file. Only a regular file is read (a FIFO, device or folder is
 * a CheckpointError at once, never a hang), at its real size.
 */
export async function readCheckpoint(file: string): Promise<Checkpoint> {
  if (typeof file !== 'string' || file.length === 0) throw new TypeError(`file must be a path, got ${describe(file)}`);
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(file, { what: 'checkpoint' });
  } catch (error) {
    if (error instanceof FileError && error.errno === 'ENOENT') throw new CheckpointError(`${file}: no such checkpoint`);
    throw new CheckpointError(error instanceof Error ? error.message : String(error));
  }
  return decodeCheckpoint(bytes, file);
}

/**
 * Copies stored tensors into `params` (name to Parameter value), checking that every name is
 * present with the same shape; with `strict`, stored names the model lacks are errors too.
 */
function copyInto(
  target: Map<string, { value: Tensor; set(v: Tensor): void }>,
  stored: Map<string, StoredTensor>,
  source: string,
  what: string,
  strict: boolean,
): void {
  for (const [name, p] of target) {
    const t = stored.get(name);
    if (!t) throw new CheckpointError(`${source}: has no ${what} ${JSON.stringify(name)}, which the model needs`);
    if (shapeText(t.shape) !== shapeText(p.value.shape)) {
      throw new CheckpointError(
        `${source}: ${what} ${JSON.stringify(name)} has shape ${shapeText(t.shape)}, the model's is ${shapeText(p.value.shape)}`,
      );
    }
  }
  if (strict) {
    const extra = [...stored.keys()].filter((k) => !target.has(k));
    if (extra.length > 0) {
      throw new CheckpointError(
        `${source}: holds ${what}s the model does not have: ${extra
          .slice(0, 5)
          .map((n) => JSON.stringify(n))
          .join(', ')}${extra.length > 5 ? ', ...' : ''}`,
      );
    }
  }
  for (const [name, p] of target) {
    const t = stored.get(name)!;
    p.set(Tensor.fromArray(t.data, t.shape, { backend: p.value.backend, dtype: 'float32' }));
  }
}

/** Loads a checkpoint's parameters into `model` (names and shapes must match; strict by default). */
export function loadParameters(model: AlexNet, checkpoint: Checkpoint, options: { strict?: boolean } = {}): void {
  const o = checkOptions(options, ['strict'], 'loadParameters options');
  const target = new Map(model.namedParameters().map(([n, p]) => [n, p] as const));
  copyInto(target, checkpoint.parameters, checkpoint.source, 'parameter', o.strict ?? true);
  if (checkpoint.classes) model.classes = checkpoint.classes;
  if (checkpoint.preprocessing) model.preprocessing = checkpoint.preprocessing;
}

/**
 * Restores an optimizer's state tensors, step counts and learning rates from a training checkpoint.
 * The checkpoint must be of the same optimizer with the same parameter groups and options (a
 * CheckpointError naming what differs).
 */
export function loadOptimizerState(optimizer: Optimizer, model: AlexNet, checkpoint: Checkpoint): void {
  const source = checkpoint.source;
  if (!checkpoint.optimizer) throw new CheckpointError(`${source}: holds no optimizer state (a weights-only file)`);
  const { type, state, tensors } = checkpoint.optimizer;
  if (type !== optimizer.type) throw new CheckpointError(`${source}: the optimizer was saved as ${type}, this one is ${optimizer.type}`);
  // An SGD state from before parameter groups has one group's options at the top.
  const savedGroups = (state as Partial<OptimizerState>).groups ?? [{ options: state as unknown as Record<string, unknown> }];
  if (savedGroups.length !== optimizer.groups.length) {
    throw new CheckpointError(
      `${source}: the optimizer was saved with ${savedGroups.length} parameter groups, this one has ${optimizer.groups.length}`,
    );
  }
  optimizer.groups.forEach((group, i) => {
    const where = optimizer.groups.length > 1 ? `groups[${i}].` : '';
    for (const [key, value] of Object.entries(group.options)) {
      const saved = savedGroups[i]!.options?.[key];
      if (saved !== undefined && JSON.stringify(saved) !== JSON.stringify(value)) {
        throw new CheckpointError(
          `${source}: the optimizer was saved with ${where}${key} ${JSON.stringify(saved)}, this one has ${JSON.stringify(value)}`,
        );
      }
    }
  });
  try {
    optimizer.setState(state as OptimizerState);
  } catch (error) {
    throw new CheckpointError(`${source}: ${(error as Error).message}`);
  }
  const names = optimizerNames(model, optimizer);
  const known = new Set<string>();
  for (const [i, p] of optimizer.params.entries()) {
    const name = names[i]!;
    const current = optimizer.stateOf(p);
    if (!current) continue;
    const steps = optimizer.getState().paramSteps[i] ?? 0;
    for (const [slot, target] of Object.entries(current)) {
      known.add(`${slot}.${name}`);
      const stored = tensors.get(slot)?.get(name);
      // State never used (no step taken yet) may be missing, as PyTorch creates it at the first step.
      if (!stored) {
        if (steps > 0)
          throw new CheckpointError(`${source}: has no optimizer ${slot} for ${JSON.stringify(name)}, which took ${steps} steps`);
        continue;
      }
      if (shapeText(stored.shape) !== shapeText(target.shape)) {
        throw new CheckpointError(
          `${source}: optimizer ${slot} ${JSON.stringify(name)} has shape ${shapeText(stored.shape)}, the model's is ${shapeText(target.shape)}`,
        );
      }
      optimizer.setStateTensor(p, slot, Tensor.fromArray(stored.data, stored.shape, { backend: target.backend, dtype: 'float32' }));
    }
  }
  for (const [slot, byName] of tensors) {
    for (const name of byName.keys()) {
      if (!known.has(`${slot}.${name}`))
        throw new CheckpointError(`${source}: holds optimizer ${slot} ${JSON.stringify(name)}, which this optimizer does not keep`);
    }
  }
}

/** Options of {@link loadModel}. */
export interface LoadModelOptions {
  /** Where to build the model (default: the process default, see {@link setDefaultBackend}). */
  backend?: Backend | BackendChoice;
  /** For files without a stored configuration (a PyTorch state_dict): the model to build. */
  config?: AlexNetOptions;
  /** Reject stored parameters the model lacks (default true; optimizer tensors never count). */
  strict?: boolean;
}

const LOAD_MODEL_OPTIONS: readonly (keyof LoadModelOptions)[] = ['backend', 'config', 'strict'];

/**
 * Builds the model a checkpoint describes and loads its parameters, class names and preprocessing.
 * The file is checked (see the module notes) before any model memory is allocated.
 */
export async function loadModel(file: string, options: LoadModelOptions = {}): Promise<AlexNet> {
  checkOptions(options, LOAD_MODEL_OPTIONS, 'loadModel options');
  const checkpoint = await readCheckpoint(file);
  return modelFromCheckpoint(checkpoint, options);
}

/** {@link loadModel} for an already read checkpoint. */
export function modelFromCheckpoint(checkpoint: Checkpoint, options: LoadModelOptions = {}): AlexNet {
  checkOptions(options, LOAD_MODEL_OPTIONS, 'loadModel options');
  const stored = checkpoint.config;
  if (!stored && !options.config) {
    throw new CheckpointError(
      `${checkpoint.source}: has no model configuration (metadata ${JSON.stringify(METADATA_KEYS.config)}); pass config, e.g. { preset: 'torchvision' }`,
    );
  }
  const config: AlexNetOptions = stored ? { ...stored, seed: BigInt(stored.seed) } : options.config!;
  // Names and shapes first, without memory: a file that cannot hold the model never makes one.
  checkParameterShapes(
    checkpoint.parameters,
    parameterShapes(resolveConfig({ ...config, seed: 0 })),
    checkpoint.source,
    options.strict ?? true,
  );
  const model = createAlexNet({ ...config, ...(options.backend ? { backend: options.backend } : {}) });
  try {
    loadParameters(model, checkpoint, { strict: options.strict ?? true });
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}
