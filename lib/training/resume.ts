/**
 * Resuming a run exactly: the Trainer's part of a checkpoint (its position, data order, schedule,
 * dropout streams, the epoch's partial metrics and the history), reading it back from a file or a
 * checkpoint folder, and restoring the model, optimizer, schedule and dropout layers from it after
 * checking that the run is the same one (model shape, batch size, data seed and size).
 * @module
 */
import { CheckpointError, loadOptimizerState, loadParameters, readCheckpoint, type Checkpoint } from '../checkpoint/format';
import { resolveCheckpointFile } from '../checkpoint/directory';
import type { AlexNet } from '../models/alexnet';
import { Dropout, type DropoutState } from '../nn/dropout';
import type { Module } from '../nn/module';
import type { LrSchedule, ScheduleState } from '../optim/schedules';
import type { Optimizer } from '../optim/optimizer';
import type { EpochRecord } from './epochRecord';
import type { MetricSums } from './metrics';

/** The Trainer's part of a checkpoint (metadata "alexnet-cuda.training"). */
export interface TrainingState {
  version: 1;
  /** The position training continues at. */
  epoch: number;
  batch: number;
  epochs: number;
  batchSize: number;
  baseLr: number;
  data: { seed: string; trainLength: number };
  schedule: ScheduleState;
  scheduleName: string;
  dropout: Record<string, DropoutState>;
  /** Sums of the current epoch's training metrics (null at an epoch boundary). */
  partial: MetricSums | null;
  history: EpochRecord[];
}

/** The model's dropout layers with their dotted paths. */
export function dropoutLayers(module: Module, prefix = ''): [string, Dropout][] {
  return module.children().flatMap(([name, child]) => {
    const p = prefix ? `${prefix}.${name}` : name;
    return child instanceof Dropout ? [[p, child] as [string, Dropout]] : dropoutLayers(child, p);
  });
}

function isTrainingState(v: unknown): v is TrainingState {
  const s = v as TrainingState;
  return (
    s !== null &&
    typeof s === 'object' &&
    s.version === 1 &&
    Number.isInteger(s.epoch) &&
    Number.isInteger(s.batch) &&
    Number.isInteger(s.batchSize) &&
    typeof s.baseLr === 'number' &&
    typeof s.data?.seed === 'string' &&
    Array.isArray(s.history) &&
    typeof s.dropout === 'object'
  );
}

/** The checkpoint to resume from: a read one, a file, or a folder's latest training checkpoint. */
export async function readResumeCheckpoint(resume: string | Checkpoint): Promise<Checkpoint> {
  if (typeof resume !== 'string') return resume;
  return readCheckpoint(await resolveCheckpointFile(resume, 'latest'));
}

/** What must match between the run that saved a checkpoint and the one resuming it. */
export interface ResumeExpectation {
  batchSize: number;
  seed: bigint;
  trainLength: number;
}

/**
 * Loads the model's parameters, the optimizer's state, the schedule's and each dropout layer's from
 * `checkpoint` and returns the saved training state; a CheckpointError names what does not match.
 */
export function restoreTraining(
  model: AlexNet,
  checkpoint: Checkpoint,
  optimizer: Optimizer,
  schedule: LrSchedule,
  expected: ResumeExpectation,
): TrainingState {
  const source = checkpoint.source;
  const state = checkpoint.training;
  if (!isTrainingState(state)) throw new CheckpointError(`${source}: holds no training state (a weights-only file cannot be resumed)`);
  if (checkpoint.config) {
    for (const key of ['preset', 'numClasses', 'inChannels', 'inputSize', 'width'] as const) {
      if (checkpoint.config[key] !== model.config[key]) {
        throw new CheckpointError(
          `${source}: was saved from a model with ${key} ${checkpoint.config[key]}, this one has ${model.config[key]}`,
        );
      }
    }
  }
  if (state.batchSize !== expected.batchSize) {
    throw new CheckpointError(
      `${source}: was trained with batch size ${state.batchSize}; resume with the same batch size (got ${expected.batchSize})`,
    );
  }
  if (state.data.seed !== expected.seed.toString()) {
    throw new CheckpointError(`${source}: was trained with data seed ${state.data.seed}; resume with the same seed (got ${expected.seed})`);
  }
  if (state.data.trainLength !== expected.trainLength) {
    throw new CheckpointError(`${source}: was trained on ${state.data.trainLength} images; this training set has ${expected.trainLength}`);
  }
  loadParameters(model, checkpoint);
  loadOptimizerState(optimizer, model, checkpoint);
  try {
    schedule.setState(state.schedule);
  } catch (error) {
    throw new CheckpointError(
      `${source}: its schedule (${state.scheduleName}) does not match this run's (${schedule.name}): ${(error as Error).message}`,
    );
  }
  for (const [name, layer] of dropoutLayers(model)) {
    const saved = Object.hasOwn(state.dropout, name) ? state.dropout[name] : undefined;
    if (!saved) throw new CheckpointError(`${source}: has no state for dropout layer ${JSON.stringify(name)}`);
    try {
      layer.setState(saved);
    } catch (error) {
      throw new CheckpointError(`${source}: the state of dropout layer ${JSON.stringify(name)} is invalid (${(error as Error).message})`);
    }
  }
  return state;
}
