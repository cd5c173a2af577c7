/**
 * The Trainer: the training loop over a {@link DataLoader}, with validation, metrics, progress,
 * a JSON-lines log, callbacks, learning-rate schedules, checkpoints and exact resumption.
 *
 * How a step flows: the loader hands over a batch already on the device (prepared while the
 * previous step ran); forward, fused cross-entropy, backward and the SGD update are enqueued
 * (step.ts); the loss and top-1/top-5 counts are accumulated on the device. Nothing is read back
 * per step: the host only waits for the step two back to finish (so the queue, and memory, stay
 * bounded while the device never idles) and reads the metrics at logging points, without waiting
 * for them.
 *
 * Safety: a NaN or infinite loss stops training with a {@link TrainingDivergedError} naming the
 * first bad step (divergence.ts); SIGINT (Ctrl-C) or SIGTERM stops after the current step, saves a
 * checkpoint and returns `interrupted` (stopSignals.ts; a second Ctrl-C quits at once). A
 * checkpoint holds everything the run depends on (resume.ts), so on the CPU backend a resumed run
 * is bit-identical to an uninterrupted one.
 * @module
 */
import * as path from 'node:path';

import { CheckpointDirectory, METRIC_KEY, RUN_KEY } from '../checkpoint/directory';
import { encodeCheckpoint, type Checkpoint } from '../checkpoint/format';
import { claimRunFolder, newRunId } from '../checkpoint/runFolder';
import type { Dataset } from '../data/dataset';
import { DataLoader } from '../data/loader';
import { Pipeline, type TransformList } from '../data/transforms/pipeline';
import type { TransformSpec } from '../data/transforms/transform';
import { TolerantOutput, type OutputStream } from '../io/output';
import { AlexNet } from '../models/alexnet';
import { inEvalMode, lendModel, useModel } from '../models/modelUse';
import { lockRequiresGrad, requiresGradKey } from '../nn/freeze';
import { CrossEntropyLoss } from '../nn/loss';
import type { Parameter } from '../nn/module';
import { copyInto } from '../ops/elementwise';
import { constantLR, type LrSchedule } from '../optim/schedules';
import { createOptimizer, type OptimizerChoice } from '../optim/choice';
import type { Optimizer } from '../optim/optimizer';
import { writeCurvesPng } from '../plot';
import { Tensor, type Seed } from '../tensor';
import { boolean, describe, nonNegativeInt, options as checkOptions, positiveInt, positiveNumber, seedValue } from '../validate';
import { DivergenceWatch, TrainingDivergedError } from './divergence';
import { EarlyStopping, type EarlyStop, type EarlyStoppingOptions } from './earlyStopping';
import { formatEpoch, type EpochRecord } from './epochRecord';
import { RunEstimate } from './eta';
import { DeviceMetrics, meansOf, type MetricSums, type MetricValues } from './metrics';
import { MetricsLog } from './metricsLog';
import { createProgress, formatDuration, type ProgressMode, type ProgressReporter } from './progress';
import { dropoutLayers, readResumeCheckpoint, restoreTraining, type TrainingState } from './resume';
import { InferenceRunner, StepWindow, TrainStepper } from './step';
import { StopSignals, type StopReason } from './stopSignals';

/** Passed to `onBatch` after each step is enqueued. */
export interface BatchInfo {
  /** The epoch (0-based). */
  epoch: number;
  /** The batch within the epoch (0-based). */
  batch: number;
  /** Optimizer steps taken, this one included. */
  step: number;
  /** Images in the batch. */
  size: number;
  /** The learning rate the step used. */
  lr: number;
  /** The batch's mean loss, a one-element device tensor valid during the callback (reading it waits for the step). */
  loss: Tensor;
}

/** Functions the Trainer calls during {@link Trainer.fit}. */
export interface TrainerCallbacks {
  /** After each step is enqueued (awaited: a slow callback slows training). */
  onBatch?(info: BatchInfo): void | Promise<void>;
  /** After each epoch's validation and checkpoint. */
  onEpoch?(record: EpochRecord): void | Promise<void>;
}

/** Options of {@link Trainer.fit}. */
export interface FitOptions {
  /** Epochs to train in all (counting those done before a resume). */
  epochs: number;
  /** Training batch size. */
  batchSize: number;
  /**
   * The optimizer and its settings: `{ type: 'adamw', lr: 3e-4, weightDecay: 0.05 }`, or SGD's
   * options alone (`{ lr, momentum, ... }`). Default SGD with lr 0.01, no momentum, no weight decay,
   * as d2l. Frozen parameters (requiresGrad false) get no update and no optimizer state.
   */
  optimizer?: OptimizerChoice;
  /** Learning-rate schedule (default: constant). Reduce-on-plateau watches the validation error. */
  schedule?: LrSchedule;
  /** Transforms for training images (augmentation). */
  trainTransform?: TransformList | Pipeline;
  /** Transforms for validation images; stored in checkpoints as the model's preprocessing. */
  evalTransform?: TransformList | Pipeline;
  /** Seed of the data order and augmentation (default 0). */
  seed?: Seed;
  /** Validation batch size (default: batchSize). */
  evalBatchSize?: number;
  /** Data-loading worker threads (see DataLoaderOptions.workers). */
  workers?: number | 'auto';
  /** Batches prepared ahead (see DataLoaderOptions.prefetch). */
  prefetch?: number;
  /**
   * Folder for checkpoints, written after every epoch and on interruption; none when absent. The
   * run owns it: a folder holding another run's checkpoints (or its metrics log and curves) is
   * refused with a RunFolderError unless this run resumes that one, or `overwrite` is set.
   */
  checkpointDir?: string;
  /**
   * Start this run in a `checkpointDir` that holds another run: that run's files move into a
   * `replaced-<time>` subfolder (nothing is deleted). Default false.
   */
  overwrite?: boolean;
  /** Checkpoints kept besides the best (default 3). */
  keepLast?: number;
  /** Also save every this many steps (default 0: only at epoch ends). */
  checkpointEverySteps?: number;
  /** Extra metadata stored in every checkpoint (string values). */
  checkpointMetadata?: Record<string, string>;
  /** Continue from a checkpoint file, a checkpoint folder (its latest), or a read Checkpoint. */
  resume?: string | Checkpoint;
  /** Append metrics as JSON lines to this file. */
  metricsLog?: string;
  /** Write training curves (PNG) here at the end. */
  curves?: string;
  /** Progress display (default 'auto'). */
  progress?: ProgressMode;
  /**
   * Where progress and epoch summaries go (default process.stdout). A stream that fails (a closed
   * pipe: EPIPE) is no longer written to; it never stops training.
   */
  output?: OutputStream;
  /** Seconds between plain progress lines (default 10). */
  printEverySeconds?: number;
  /** Steps between metric reads (logging points, NaN checks); default 50. */
  logEverySteps?: number;
  /** Called per batch and per epoch. */
  callbacks?: TrainerCallbacks;
  /** Stop (saving a checkpoint) once this many optimizer steps have been taken in all. */
  stopAfterSteps?: number;
  /** Stop cleanly on SIGINT and SIGTERM (default true). */
  handleSignals?: boolean;
  /**
   * Stop once a validation metric has not improved for `patience` epochs (see
   * training/earlyStopping); needs a validation set. FitResult.earlyStop then says why.
   */
  earlyStopping?: EarlyStoppingOptions;
}

/** What {@link Trainer.fit} returns. */
export interface FitResult {
  /** The run's id, stored in its checkpoints (metadata "alexnet-cuda.run"; kept across resumes). */
  run: string;
  /** One record per completed epoch (including those before a resume). */
  history: EpochRecord[];
  /** Why training stopped early, or null when it ran every epoch (or stopped by {@link FitOptions.earlyStopping}). */
  interrupted: null | 'SIGINT' | 'SIGTERM' | 'stopAfterSteps';
  /** Why early stopping ended the run, or null when it did not (see {@link FitOptions.earlyStopping}). */
  earlyStop: EarlyStop | null;
  /** The last checkpoint written, if any. */
  checkpoint: string | null;
  /** Optimizer steps taken in all. */
  steps: number;
  /** Wall time of this call. */
  seconds: number;
  /** Where that time went: validation passes and checkpoint writes; the rest is training (and setup). */
  timing: {
    /** Seconds spent in validation passes. */
    validationSeconds: number;
    /** Seconds spent writing checkpoints. */
    checkpointSeconds: number;
  };
}

/** Options of {@link Trainer.evaluate}. */
export interface EvaluateOptions {
  /** Default 256. */
  batchSize?: number;
  /** Default: the model's preprocessing, else none. */
  transform?: TransformList | Pipeline;
  /** Data-loading worker threads (see DataLoaderOptions.workers). */
  workers?: number | 'auto';
  /** Batches prepared ahead (see DataLoaderOptions.prefetch). */
  prefetch?: number;
}

/** What {@link Trainer.evaluate} returns. */
export interface EvalResult extends MetricValues {
  /** Wall time of the pass. */
  seconds: number;
  /** Images evaluated per second. */
  imagesPerSecond: number;
}

/** A metrics read in flight: `upTo` counts the step losses it covers. */
interface PendingRead {
  done: boolean;
  result?: MetricSums;
  /** Why the read failed (whatever the promise rejected with), wrapped so that "none" stays distinct from a falsy rejection. */
  failure?: { error: unknown };
  upTo: number;
  /** Whether it is a logging point (written to the metrics log). */
  logged: boolean;
}

function toPipeline(t: TransformList | Pipeline | undefined): Pipeline {
  return t instanceof Pipeline ? t : new Pipeline(t ?? []);
}

/** Where a run is: the epoch, the batch within it, and the sums of the epoch's metrics so far. */
interface Position {
  epoch: number;
  batch: number;
  partial: MetricSums | null;
}

/** Trains and evaluates an AlexNet. */
/** The keys FitOptions may have (unknown keys are errors). */
const FIT_OPTIONS: readonly (keyof FitOptions)[] = [
  'epochs',
  'batchSize',
  'optimizer',
  'schedule',
  'trainTransform',
  'evalTransform',
  'seed',
  'evalBatchSize',
  'workers',
  'prefetch',
  'checkpointDir',
  'overwrite',
  'keepLast',
  'checkpointEverySteps',
  'checkpointMetadata',
  'resume',
  'metricsLog',
  'curves',
  'progress',
  'output',
  'printEverySeconds',
  'logEverySteps',
  'callbacks',
  'stopAfterSteps',
  'handleSignals',
  'earlyStopping',
];

/** Trains and evaluates an AlexNet. See models/modelUse for what may run at the same time. */
export class Trainer {
  /** The model it trains (in place). */
  readonly model: AlexNet;
  /** The optimizer of the last (or current) fit. */
  optimizer: Optimizer | null = null;
  readonly #loss = new CrossEntropyLoss();

  constructor(model: AlexNet) {
    if (!(model instanceof AlexNet)) throw new TypeError(`model must be an AlexNet, got ${describe(model)}`);
    this.model = model;
  }

  /**
   * Mean loss, top-1 and top-5 over a dataset, in evaluation mode (the model's own mode is left as
   * it was). Rejects with a ModelBusyError while the model is training or predicting.
   */
  async evaluate(dataset: Dataset, options: EvaluateOptions = {}): Promise<EvalResult> {
    const o = checkOptions(options, ['batchSize', 'transform', 'workers', 'prefetch'], 'evaluate options');
    const model = this.model;
    return useModel(model, 'Trainer.evaluate', async () => {
      const transform = o.transform ?? (model.preprocessing ? [...model.preprocessing] : []);
      const loader = new DataLoader(dataset, {
        batchSize: o.batchSize ?? 256,
        transform,
        backend: model.backend,
        ...(o.workers !== undefined ? { workers: o.workers } : {}),
        ...(o.prefetch !== undefined ? { prefetch: o.prefetch } : {}),
      });
      const runner = new InferenceRunner(model);
      try {
        return await this.#evaluate(loader, runner);
      } finally {
        runner.dispose();
      }
    });
  }

  /** One pass over `loader` in evaluation mode; forwards go through `runner` (captured after warm-up). */
  async #evaluate(loader: DataLoader, runner: InferenceRunner): Promise<EvalResult> {
    const model = this.model;
    const metrics = new DeviceMetrics(model.backend, model.config.numClasses);
    const window = new StepWindow(2);
    const start = performance.now();
    try {
      for await (const batch of loader.batches(0)) {
        const logits = inEvalMode(model, () => runner.forward(batch.input));
        const loss = this.#loss.value(logits, batch.labels);
        metrics.add(loss, logits, batch.labels);
        loss.dispose();
        logits.dispose();
        batch.dispose();
        await window.after(model);
      }
      await window.drain();
      const values = await metrics.read();
      const seconds = (performance.now() - start) / 1000;
      return { ...values, seconds, imagesPerSecond: values.count / seconds };
    } finally {
      await window.drain().catch(() => {});
      metrics.dispose();
      await loader.close();
    }
  }

  /**
   * Trains on `train`, validating on `val` (or null) after every epoch. Rejects with a
   * ModelBusyError while the model is already training, evaluating or predicting, with a
   * RunFolderError for a checkpoint folder holding another run (see FitOptions.checkpointDir), and
   * with a FileError naming the file when a checkpoint or the metrics log cannot be written.
   *
   * Frozen parameters (Module.freeze) are neither given gradients nor updated; which parameters
   * train is fixed when fit starts: freezing or unfreezing during the fit (from a callback) throws a
   * ModelBusyError, and a `requiresGrad` flag assigned directly during the fit fails it at the next step.
   */
  async fit(train: Dataset, val: Dataset | null, options: FitOptions): Promise<FitResult> {
    return useModel(this.model, 'Trainer.fit', async () => {
      const run = new FitRun(this.model, (loader, runner) => this.#evaluate(loader, runner), train, val, options);
      this.optimizer?.dispose();
      this.optimizer = run.optimizer;
      return run.run();
    });
  }
}

/** One call of {@link Trainer.fit}: its settings, its resources, and the loop. */
class FitRun {
  readonly started = performance.now();
  readonly model: AlexNet;
  readonly optimizer: Optimizer;
  readonly epochs: number;
  readonly batchSize: number;
  readonly logEvery: number;
  readonly readEverySeconds: number;
  readonly checkpointEvery: number;
  readonly stopAfter: number;
  readonly seed: bigint;
  readonly overwrite: boolean;
  readonly evalSpecs: TransformSpec[] | null;
  readonly schedule: LrSchedule;
  readonly baseLr: number;
  readonly loader: DataLoader;
  readonly valLoader: DataLoader | null;
  readonly output: TolerantOutput;
  readonly progress: ProgressReporter;
  readonly log: MetricsLog | null;
  readonly signals: StopSignals | null;
  /** The parameters this run trains (those not frozen when it started), and their flags' key. */
  readonly trained: Parameter[];
  readonly trainedKey: string;
  /** Early stopping, when asked for; `earlyStop` says why it ended the run; `bestWeights` the kept copy. */
  readonly early: EarlyStopping | null;
  earlyStop: EarlyStop | null = null;
  bestWeights: { epoch: number; values: Tensor } | null = null;
  #unlock: (() => void) | null = null;
  /** The run's id (a resumed run's comes from its checkpoint); set by #prepare. */
  runId = '';
  directory: CheckpointDirectory | null = null;
  /** Training steps, captured into a graph per batch shape after warm-up (step.ts). */
  readonly stepper: TrainStepper;
  /** Validation forwards, likewise. */
  readonly inference: InferenceRunner;
  history: EpochRecord[] = [];
  lastCheckpoint: string | null = null;
  /** Training images gone through in this call, and the estimate of the time left. */
  imagesDone = 0;
  estimate: RunEstimate | null = null;
  #estimateShown = false;
  readonly timing = { validationSeconds: 0, checkpointSeconds: 0 };

  constructor(
    model: AlexNet,
    /** Trainer.evaluate's loop, for the validation after each epoch. */
    readonly validate: (loader: DataLoader, runner: InferenceRunner) => Promise<EvalResult>,
    readonly train: Dataset,
    readonly val: Dataset | null,
    readonly options: FitOptions,
  ) {
    this.model = model;
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw new TypeError('fit: options must be an object with epochs and batchSize');
    }
    checkOptions(options, FIT_OPTIONS, 'fit options');
    if (options.callbacks !== undefined) checkOptions(options.callbacks, ['onBatch', 'onEpoch'], 'fit options: callbacks');
    this.epochs = positiveInt(options.epochs, 'epochs');
    this.batchSize = positiveInt(options.batchSize, 'batchSize');
    this.logEvery = positiveInt(options.logEverySteps ?? 50, 'logEverySteps');
    this.readEverySeconds = positiveNumber(options.printEverySeconds ?? 10, 'printEverySeconds');
    this.checkpointEvery = nonNegativeInt(options.checkpointEverySteps ?? 0, 'checkpointEverySteps');
    this.stopAfter = options.stopAfterSteps === undefined ? Infinity : positiveInt(options.stopAfterSteps, 'stopAfterSteps');
    this.overwrite = boolean(options.overwrite ?? false, 'overwrite');
    for (const key of ['checkpointDir', 'metricsLog', 'curves'] as const) {
      const v = options[key];
      if (v !== undefined && (typeof v !== 'string' || v.length === 0)) throw new TypeError(`${key} must be a path, got ${describe(v)}`);
    }
    if (train?.classes?.length !== model.config.numClasses) {
      throw new RangeError(
        `the model has ${model.config.numClasses} outputs but the training set has ${train?.classes?.length} classes: build the model with numClasses: ${train?.classes?.length} (or give a trained one a new output layer: model.replaceHead(${train?.classes?.length}))`,
      );
    }
    if (val && val.classes.length !== train.classes.length) {
      throw new RangeError(`the validation set has ${val.classes.length} classes, the training set ${train.classes.length}`);
    }
    this.early = options.earlyStopping === undefined ? null : new EarlyStopping(options.earlyStopping);
    if (this.early && !val) {
      throw new TypeError(
        `earlyStopping watches ${this.early.metric}, which needs a validation set: pass one as fit's second argument (got null)`,
      );
    }
    const params = model.namedParameters().map(([, p]) => p);
    this.trained = params.filter((p) => p.requiresGrad);
    if (this.trained.length === 0) {
      throw new RangeError("fit: every parameter of the model is frozen; unfreeze some first (for example model.unfreeze('classifier'))");
    }
    this.trainedKey = requiresGradKey(params);
    this.seed = seedValue(options.seed ?? 0, 'seed');
    const trainPipeline = toPipeline(options.trainTransform);
    const evalPipeline = toPipeline(options.evalTransform);
    this.evalSpecs = evalPipeline.specs ?? null;
    this.schedule = options.schedule ?? constantLR();
    const loaderOptions = {
      backend: model.backend,
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
      ...(options.prefetch !== undefined ? { prefetch: options.prefetch } : {}),
    };
    this.loader = new DataLoader(train, {
      batchSize: this.batchSize,
      shuffle: true,
      seed: this.seed,
      transform: trainPipeline,
      ...loaderOptions,
    });
    this.valLoader = val
      ? new DataLoader(val, { batchSize: options.evalBatchSize ?? this.batchSize, transform: evalPipeline, ...loaderOptions })
      : null;
    // The optimizer skips frozen parameters (no update, no state); which ones is fixed for this fit.
    this.optimizer = createOptimizer(
      model.namedParameters().map(([, p]) => p),
      options.optimizer ?? { lr: 0.01 },
    );
    // Nothing that can fail comes after this point: what follows holds resources (a signal handler, an error listener).
    model.classes = [...train.classes];
    if (this.evalSpecs) model.preprocessing = this.evalSpecs;
    this.baseLr = this.optimizer.lr;
    this.output = new TolerantOutput(options.output ?? process.stdout);
    this.progress = createProgress(options.progress ?? 'auto', this.output, this.readEverySeconds);
    this.log = options.metricsLog ? new MetricsLog(options.metricsLog) : null;
    this.stepper = new TrainStepper(model, this.optimizer, { log: (line) => this.progress.line(line) });
    this.inference = new InferenceRunner(model, { log: (line) => this.progress.line(line) });
    this.signals =
      (options.handleSignals ?? true)
        ? new StopSignals((signal) =>
            this.progress.line(
              `${signal}: stopping after this step${options.checkpointDir ? ' and saving a checkpoint' : ''} (repeat to quit at once)`,
            ),
          )
        : null;
  }

  get stepsPerEpoch(): number {
    return this.loader.batchesPerEpoch;
  }

  /** The stop asked for (a signal, or the step limit), or null. */
  get stop(): StopReason | null {
    return this.signals?.reason ?? this.#stopAfterSteps;
  }
  #stopAfterSteps: StopReason | null = null;

  async run(): Promise<FitResult> {
    this.signals?.install();
    this.#unlock = lockRequiresGrad(
      this.model.namedParameters().map(([, p]) => p),
      'Trainer.fit',
    );
    let failed = false;
    try {
      const checkpoint = this.options.resume === undefined ? null : await readResumeCheckpoint(this.options.resume);
      await this.#prepare(checkpoint);
      let position = this.#start(checkpoint);
      await this.log?.flush(); // the first record written: an unwritable log fails the run before it trains
      for (; position.epoch < this.epochs; position = { epoch: position.epoch + 1, batch: 0, partial: null }) {
        const stopped = await this.#epoch(position);
        if (stopped) return this.#finish(this.stop, stopped);
        if (this.earlyStop) break;
      }
      this.#restoreBest();
      await this.#writeCurves();
      this.log?.write({ type: 'end', steps: this.optimizer.steps, seconds: (performance.now() - this.started) / 1000 });
      return this.#finish(null, this.optimizer.steps);
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      this.#unlock?.();
      this.bestWeights?.values.dispose();
      this.progress.close();
      this.signals?.remove();
      this.output.release();
      this.stepper.dispose();
      this.inference.dispose();
      await Promise.all([this.loader.close(), this.valLoader?.close()]);
      // A log that cannot be written fails the run, but never hides the error that already did.
      if (failed) await this.log?.close().catch(() => {});
      else await this.log?.close();
    }
  }

  /**
   * Before anything is trained or written: the run's id, its claim on the checkpoint folder (see
   * checkpoint/runFolder) and the metrics log, opened so that an unwritable path fails at once.
   */
  async #prepare(checkpoint: Checkpoint | null): Promise<void> {
    const { options } = this;
    this.model.clearSaved(); // a stray training forward of the caller's must not trip the first step
    this.runId = checkpoint?.metadata[RUN_KEY] ?? newRunId();
    if (options.checkpointDir) {
      const dir = path.resolve(options.checkpointDir);
      const inDir = (file: string | undefined) =>
        file !== undefined && path.dirname(path.resolve(file)) === dir ? [path.basename(file)] : [];
      const claim = await claimRunFolder(dir, {
        run: this.runId,
        resuming: checkpoint !== null,
        overwrite: this.overwrite,
        runFiles: ['model.safetensors', 'metrics.jsonl', 'curves.png', ...inDir(options.metricsLog), ...inDir(options.curves)],
      });
      if (claim.movedTo) this.progress.line(`the folder held another run: its ${claim.moved.length} files moved to ${claim.movedTo}`);
      this.directory = new CheckpointDirectory(dir, { keepLast: options.keepLast ?? 3, run: this.runId });
    }
    await this.log?.open();
  }

  /** Where to start: the beginning, or a checkpoint's position (restoring the run's state from it). */
  #start(checkpoint: Checkpoint | null): Position {
    const { optimizer, schedule } = this;
    let position: Position = { epoch: 0, batch: 0, partial: null };
    if (checkpoint === null) {
      this.log?.write({
        type: 'start',
        run: this.runId,
        config: this.model.config,
        epochs: this.epochs,
        batchSize: this.batchSize,
        optimizer: optimizer.getState(),
        schedule: schedule.name,
        trainSize: this.train.length,
        valSize: this.val?.length ?? 0,
      });
    } else {
      const state = restoreTraining(this.model, checkpoint, optimizer, schedule, {
        batchSize: this.batchSize,
        seed: this.seed,
        trainLength: this.train.length,
      });
      this.history = [...state.history];
      optimizer.scaleLr(
        schedule.factor({ epoch: state.epoch, batch: Math.min(state.batch, this.stepsPerEpoch - 1), stepsPerEpoch: this.stepsPerEpoch }),
      );
      this.progress.line(`resuming from ${checkpoint.source}: epoch ${state.epoch + 1}, batch ${state.batch}, step ${optimizer.steps}`);
      this.log?.write({
        type: 'resume',
        run: this.runId,
        from: checkpoint.source,
        epoch: state.epoch,
        batch: state.batch,
        step: optimizer.steps,
      });
      position = { epoch: state.epoch, batch: state.batch, partial: state.partial };
    }
    const total = Math.max(this.epochs - position.epoch, 0) * this.loader.samplesPerEpoch - position.batch * this.batchSize;
    this.estimate = new RunEstimate(Math.max(total, 0));
    return position;
  }

  /** Saves a checkpoint at `position` (when the run has a folder), with the validation metric if known. */
  async #save(position: { epoch: number; batch: number }, sums: MetricSums | null, metric: number | null): Promise<void> {
    if (!this.directory) return;
    const saveStart = performance.now();
    const training: TrainingState = {
      version: 1,
      epoch: position.epoch,
      batch: position.batch,
      epochs: this.epochs,
      batchSize: this.batchSize,
      baseLr: this.baseLr,
      data: { seed: this.seed.toString(), trainLength: this.train.length },
      schedule: this.schedule.getState(),
      scheduleName: this.schedule.name,
      dropout: Object.fromEntries(dropoutLayers(this.model).map(([name, d]) => [name, d.getState()])),
      partial: sums,
      history: this.history,
    };
    const bytes = await encodeCheckpoint(this.model, {
      classes: this.train.classes,
      preprocessing: this.evalSpecs,
      optimizer: this.optimizer,
      training,
      metadata: {
        ...this.options.checkpointMetadata,
        [RUN_KEY]: this.runId,
        ...(metric !== null && Number.isFinite(metric) ? { [METRIC_KEY]: String(metric) } : {}),
      },
    });
    this.lastCheckpoint = await this.directory.write(position.epoch, this.optimizer.steps, bytes);
    this.timing.checkpointSeconds += (performance.now() - saveStart) / 1000;
  }

  /** Once a few steps have finished: how long the run will take, said once. */
  #showEstimate(): void {
    const estimate = this.estimate;
    const left = estimate?.secondsLeft() ?? null;
    if (this.#estimateShown || estimate === null || left === null) return;
    this.#estimateShown = true;
    this.progress.line(
      `estimated training time left: ${formatDuration(left)} (${Math.round(estimate.imagesPerSecond!)} images/s ` +
        `on the ${this.model.backend.kind} backend, measured over ${estimate.finishedSteps} finished steps)`,
    );
  }

  /** Runs one epoch from `position`; returns the step count if the run stopped in or after it, else null. */
  async #epoch(position: Position): Promise<number | null> {
    const { model, optimizer, schedule, progress, log, epochs } = this;
    const epoch = position.epoch;
    model.train();
    const epochStart = performance.now();
    let epochImages = 0;
    const metrics = new DeviceMetrics(model.backend, model.config.numClasses, position.partial ?? undefined);
    const watch = new DivergenceWatch();
    const window = new StepWindow(2);
    let reading: PendingRead | null = null;
    let lastRead = -Infinity;
    let shown: MetricValues | null = null;
    const check = async (sums: MetricSums, upTo: number) => {
      await watch.check(sums, upTo, { epoch, lr: optimizer.lr, steps: optimizer.steps });
      shown = meansOf(sums);
    };
    try {
      let lr = optimizer.lr;
      for await (const batch of this.loader.batches(epoch, position.batch)) {
        this.#checkTrainable();
        // Each parameter group's own initial rate times the schedule's factor (one group here).
        optimizer.scaleLr(schedule.factor({ epoch, batch: batch.index, stepsPerEpoch: this.stepsPerEpoch }));
        lr = optimizer.lr;
        const firstStepOfEpoch = epochImages === 0;
        const { logits, loss } = this.stepper.step(batch.input, batch.labels);
        metrics.add(loss, logits, batch.labels);
        logits.dispose();
        const step = optimizer.steps;
        watch.record(step, batch.index, loss);
        epochImages += batch.size;
        this.imagesDone += batch.size;
        const size = batch.size;
        batch.dispose();
        // Called on the callbacks object, so that a class's method keeps its `this`.
        const callbacks = this.options.callbacks;
        if (callbacks?.onBatch) await lendModel(model, () => callbacks.onBatch!({ epoch, batch: batch.index, step, size, lr, loss }));
        const imagesAtStep = this.imagesDone;
        await window.after(model, () => this.estimate?.finished(imagesAtStep));
        this.#showEstimate();

        // Metric reads: at the first step (so the first loss shows once it has run), every
        // `logEvery` steps (logging points) and every few seconds; each is used once it has arrived.
        if (reading?.done) {
          const r: PendingRead = reading;
          reading = null;
          if (r.failure) throw r.failure.error;
          await check(r.result!, r.upTo);
          if (r.logged) log?.write({ type: 'step', epoch, batch: batch.index + 1, step, loss: shown!.loss, top1: shown!.top1, lr });
        }
        const now = performance.now();
        const logged = step % this.logEvery === 0;
        if (!reading && (logged || firstStepOfEpoch || now - lastRead >= this.readEverySeconds * 1000)) {
          const r: PendingRead = { done: false, upTo: watch.pending, logged };
          metrics.sums().then(
            (s) => Object.assign(r, { done: true, result: s }),
            (e: unknown) => Object.assign(r, { done: true, failure: { error: e } }),
          );
          reading = r;
          lastRead = now;
        }
        const elapsed = (now - epochStart) / 1000;
        progress.update({
          epoch,
          epochs,
          batch: batch.index + 1,
          batches: this.stepsPerEpoch,
          loss: (shown as MetricValues | null)?.loss ?? null,
          top1: (shown as MetricValues | null)?.top1 ?? null,
          lr,
          imagesPerSecond: epochImages / Math.max(elapsed, 1e-9),
          etaSeconds: this.estimate?.secondsLeft() ?? null,
        });

        if (step >= this.stopAfter && !this.stop) this.#stopAfterSteps = 'stopAfterSteps';
        const periodic = this.checkpointEvery > 0 && step % this.checkpointEvery === 0 && batch.index + 1 < this.stepsPerEpoch;
        if (this.stop || periodic) {
          reading = null; // the full check below covers whatever a pending read would
          await window.drain();
          const sums = await metrics.sums();
          await check(sums, watch.pending);
          await this.#save({ epoch, batch: batch.index + 1 }, sums, null);
          if (this.stop) {
            progress.close();
            progress.line(
              `stopped (${this.stop}) at epoch ${epoch + 1}, batch ${batch.index + 1}, step ${step}` +
                (this.lastCheckpoint ? `; checkpoint ${this.lastCheckpoint}` : '; no checkpoint folder, nothing saved'),
            );
            log?.write({ type: 'interrupted', reason: this.stop, epoch, batch: batch.index + 1, step, checkpoint: this.lastCheckpoint });
            return step;
          }
        }
      }
      await window.drain();
      const trainSeconds = (performance.now() - epochStart) / 1000;
      const sums = await metrics.sums();
      await check(sums, watch.pending);
      const trained = meansOf(sums);
      const validationStart = performance.now();
      const validation = this.valLoader ? await this.validate(this.valLoader, this.inference) : null;
      this.timing.validationSeconds += (performance.now() - validationStart) / 1000;
      const record: EpochRecord = {
        epoch,
        trainLoss: trained.loss,
        trainTop1: trained.top1,
        trainTop5: trained.top5,
        valLoss: validation?.loss ?? null,
        valTop1: validation?.top1 ?? null,
        valTop5: validation?.top5 ?? null,
        lr,
        steps: optimizer.steps,
        seconds: (performance.now() - epochStart) / 1000,
        imagesPerSecond: epochImages / Math.max(trainSeconds, 1e-9),
      };
      // The paper divides the rate by ten when the validation error stops improving.
      schedule.observe?.(epoch, validation ? 1 - validation.top1 : trained.loss);
      this.history.push(record);
      progress.close();
      progress.line(formatEpoch(record, epochs));
      log?.write({ type: 'epoch', ...record });
      await this.#save({ epoch: epoch + 1, batch: 0 }, null, validation?.top1 ?? null);
      this.#watchEarlyStopping(record);
      const callbacks = this.options.callbacks;
      if (callbacks?.onEpoch) await lendModel(model, () => callbacks.onEpoch!(record));
      if (this.stop) {
        progress.line(
          `stopped (${this.stop}) after epoch ${epoch + 1}` + (this.lastCheckpoint ? `; checkpoint ${this.lastCheckpoint}` : ''),
        );
        log?.write({
          type: 'interrupted',
          reason: this.stop,
          epoch: epoch + 1,
          batch: 0,
          step: optimizer.steps,
          checkpoint: this.lastCheckpoint,
        });
        return optimizer.steps;
      }
      return null;
    } finally {
      await window.drain().catch(() => {});
      watch.dispose();
      metrics.dispose();
    }
  }

  /** A `requiresGrad` flag assigned directly during the fit (Module.freeze is locked) fails it: the optimizer was built for the others. */
  #checkTrainable(): void {
    const params = this.model.namedParameters();
    if (requiresGradKey(params.map(([, p]) => p)) === this.trainedKey) return;
    const changed = params.filter(([, p]) => p.requiresGrad !== this.trained.includes(p)).map(([n]) => n);
    throw new Error(
      `fit: requiresGrad of ${changed.slice(0, 3).join(', ')}${changed.length > 3 ? ', ...' : ''} changed during training; ` +
        'freeze or unfreeze before calling fit (which fixes the trainable parameters when it starts)',
    );
  }

  /** After an epoch's record: the early-stopping verdict, and a copy of the best weights when they are to be restored. */
  #watchEarlyStopping(record: EpochRecord): void {
    const early = this.early;
    if (!early) return;
    const verdict = early.observe(this.history);
    if (verdict.improved && early.restoreBest) {
      const values = this.bestWeights?.values ?? Tensor.empty(this.model.flat.values.shape, { backend: this.model.backend });
      copyInto(values, this.model.flat.values);
      this.bestWeights = { epoch: record.epoch, values };
    }
    if (verdict.stop === null || record.epoch + 1 >= this.epochs) return;
    this.earlyStop = {
      metric: early.metric,
      epoch: record.epoch,
      bestEpoch: verdict.bestEpoch,
      best: verdict.best,
      restoredBest: false,
      reason: verdict.stop,
    };
    this.progress.line(`early stopping after epoch ${record.epoch + 1}: ${verdict.stop}`);
    this.log?.write({
      type: 'earlyStop',
      epoch: record.epoch,
      metric: early.metric,
      bestEpoch: verdict.bestEpoch,
      best: verdict.best,
      reason: verdict.stop,
    });
  }

  /** At the end of a fit with restoreBest: the best epoch's weights back in the model (see EarlyStoppingOptions.restoreBest). */
  #restoreBest(): void {
    const kept = this.bestWeights;
    if (!this.early?.restoreBest || this.history.length === 0) return;
    if (!kept) {
      const best = this.early.observe(this.history).bestEpoch;
      this.progress.line(
        `not restoring the best weights: the best epoch by ${this.early.metric} (${best + 1}) came before this resumed run (its checkpoint holds them)`,
      );
      return;
    }
    const last = this.history.at(-1)?.epoch;
    if (kept.epoch !== last) {
      copyInto(this.model.flat.values, kept.values);
      this.progress.line(`restored the weights of epoch ${kept.epoch + 1}, the best by ${this.early.metric}`);
    }
    if (this.earlyStop) this.earlyStop.restoredBest = kept.epoch !== last;
  }

  /** The training curves (a convenience: a machine without a working sharp still gets its trained model). */
  async #writeCurves(): Promise<void> {
    const { options, history } = this;
    if (!options.curves || history.length === 0) return;
    try {
      await writeCurvesPng(
        options.curves,
        history,
        `${this.model.config.preset} AlexNet, ${this.epochs} epochs, batch ${this.batchSize}, ${this.schedule.name}`,
      );
    } catch (error) {
      this.progress.line(`training curves not written to ${options.curves}: ${(error as Error).message.split('\n')[0]}`);
    }
  }

  #finish(interrupted: FitResult['interrupted'], steps: number): FitResult {
    return {
      run: this.runId,
      history: this.history,
      interrupted,
      earlyStop: this.earlyStop,
      checkpoint: this.lastCheckpoint,
      steps,
      seconds: (performance.now() - this.started) / 1000,
      timing: this.timing,
    };
  }
}
