/**
 * What `alexnet train --from`, `--freeze` and `--early-stopping` need: the model built from given
 * weights (a model file of ours, such as `alexnet import` writes, or a torchvision-named
 * safetensors state_dict), its head replaced for the dataset's classes, parameters frozen by name,
 * and the early-stopping flag parsed.
 * @module
 */
import type { Backend } from '../backend/backend';
import { CheckpointError, modelFromCheckpoint, type Checkpoint } from '../checkpoint/format';
import { resolveConfig, type AlexNet, type AlexNetConfig, type AlexNetOptions } from '../models/alexnet';
import { parameterShapes } from '../models/parameterShapes';
import { EARLY_STOPPING_METRICS, type EarlyStoppingMetric, type EarlyStoppingOptions } from '../training/earlyStopping';
import { UsageError } from './args';

/**
 * The configuration of the model `--from` weights describe: the stored one, or for a file without
 * one (a plain state_dict) the flags' model with the class count the file's output layer has.
 */
export function weightsConfig(checkpoint: Checkpoint, flags: AlexNetOptions): AlexNetConfig {
  if (checkpoint.config) return checkpoint.config;
  const probe = resolveConfig({ ...flags, numClasses: 1 });
  const names = [...parameterShapes(probe).keys()].filter((n) => n.endsWith('.weight'));
  const last = checkpoint.parameters.get(names[names.length - 1]!);
  return resolveConfig({ ...flags, numClasses: last?.shape.length === 2 ? last.shape[0]! : probe.numClasses });
}

/**
 * The model of `--from` weights with their values: a {@link CheckpointError} saying which
 * parameters do not fit the preset (and which flags to check) when the weights are for another model.
 */
export function modelFromWeights(checkpoint: Checkpoint, config: AlexNetConfig, backend: Backend): AlexNet {
  try {
    return modelFromCheckpoint(checkpoint, { backend, config: { ...config, seed: BigInt(config.seed) } });
  } catch (error) {
    if (!(error instanceof CheckpointError)) throw error;
    throw new CheckpointError(
      `--from ${checkpoint.source}: the weights do not fit the ${config.preset} preset (${config.numClasses} classes, width ${config.width}, ` +
        `input ${config.inChannels}x${config.inputSize}x${config.inputSize}): ${error.message.replace(`${checkpoint.source}: `, '')}; ` +
        'check --preset, --width, --in-channels and --input-size',
    );
  }
}

/**
 * Gives `model` a new output layer for `classes` when its class count differs (drawn with the
 * model's initialization and `seed`); returns a line saying what was done, or null when the head stays.
 */
export function fitHeadToClasses(model: AlexNet, classes: readonly string[], seed: number): string | null {
  const had = model.config.numClasses;
  if (had === classes.length) return null;
  model.replaceHead(classes.length, { seed, classes });
  return `replaced the ${had}-class output layer with a new ${classes.length}-class one for the dataset's classes`;
}

/** The names of `--freeze` (comma-separated), or none. */
export function parseFreeze(text: string | undefined): string[] {
  if (text === undefined) return [];
  const names = text.split(',').map((s) => s.trim());
  if (names.some((n) => n.length === 0))
    throw new UsageError(`--freeze takes comma-separated block or parameter names (e.g. features), got ${JSON.stringify(text)}`);
  return names;
}

/** Freezes `names` in `model`, an unknown name being a UsageError that lists the valid ones. */
export function freezeByFlag(model: AlexNet, names: readonly string[]): void {
  if (names.length === 0) return;
  try {
    model.freeze(...names);
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError)
      throw new UsageError(`--freeze: ${error.message.replace(/^freeze: /, '')}`);
    throw error;
  }
}

/** `--early-stopping METRIC[:PATIENCE[:MIN_DELTA]]` (and `--restore-best`) as fit's option, or undefined. */
export function parseEarlyStopping(text: string | null, restoreBest: boolean): EarlyStoppingOptions | undefined {
  if (text === null) {
    if (restoreBest) throw new UsageError('--restore-best goes with --early-stopping');
    return undefined;
  }
  const [metric, patience, minDelta, ...rest] = text.split(':');
  const usage = `--early-stopping takes METRIC[:PATIENCE[:MIN_DELTA]] with METRIC one of ${EARLY_STOPPING_METRICS.join(', ')} (e.g. valLoss:3), got ${JSON.stringify(text)}`;
  if (rest.length > 0 || !EARLY_STOPPING_METRICS.includes(metric as EarlyStoppingMetric)) throw new UsageError(usage);
  const options: EarlyStoppingOptions = { metric: metric as EarlyStoppingMetric, restoreBest };
  if (patience !== undefined) {
    if (!/^\d+$/.test(patience)) throw new UsageError(usage);
    options.patience = Number(patience);
  }
  if (minDelta !== undefined) {
    const delta = Number(minDelta);
    if (minDelta === '' || !Number.isFinite(delta) || delta < 0) throw new UsageError(usage);
    options.minDelta = delta;
  }
  return options;
}
