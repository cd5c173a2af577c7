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
import type { Writable } from 'node:stream';

import { CheckpointDirectory, METRIC_KEY } from '../checkpoint/directory';
import { encodeCheckpoint, type Checkpoint } from '../checkpoint/format';
import type { Dataset } from '../data/dataset';
import { DataLoader } from '../data/loader';
import { Pipeline, type TransformList } from '../data/transforms/pipeline';
import type { TransformSpec } from '../data/transforms/transform';
import { AlexNet } from '../models/alexnet';
import { CrossEntropyLoss } from '../nn/loss';
import { constantLR, type LrSchedule } from '../optim/schedules';
import { SGD, type SgdOptions } from '../optim/sgd';
import { writeCurvesPng } from '../plot';
import type { Seed, Tensor } from '../tensor';
import { describe, nonNegativeInt, positiveInt, seedValue } from '../validate';
import { DivergenceWatch, TrainingDivergedError } from './divergence';
import { formatEpoch, type EpochRecord } from './epochRecord';
import { DeviceMetrics, meansOf, type MetricSums, type MetricValues } from './metrics';
import { MetricsLog } from './metricsLog';
import { createProgress, type ProgressMode, type ProgressReporter } from './progress';
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
  /** SGD settings (default: lr 0.01, no momentum, no weight decay, as d2l). */
  optimizer?: SgdOptions;
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
  /** Folder for checkpoints, written after every epoch and on interruption; none when absent. */
  checkpointDir?: string;
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
  /** Where progress and epoch summaries go (default process.stdout). */
  output?: Writable & {
    /** Whether it is a terminal (the bar is drawn only there). */
    isTTY?: boolean;
  };
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
}

/** What {@link Trainer.fit} returns. */
export interface FitResult {
  /** One record per completed epoch (including those before a resume). */
  history: EpochRecord[];
  /** Why training stopped early, or null when it ran every epoch. */
  interrupted: null | 'SIGINT' | 'SIGTERM' | 'stopAfterSteps';
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
  error?: unknown;
  upTo: number;
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
export class Trainer {
  /** The model it trains (in place). */
  readonly model: AlexNet;
  /** The optimizer of the last (or current) fit. */
  optimizer: SGD | null = null;
  readonly #loss = new CrossEntropyLoss();

  constructor(model: AlexNet) {
    if (!(model instanceof AlexNet)) throw new TypeError(`model must be an AlexNet, got ${describe(model)}`);
    this.model = model;
  }

  /** Mean loss, top-1 and top-5 over a dataset, in evaluation mode. */
  async evaluate(dataset: Dataset, options: EvaluateOptions = {}): Promise<EvalResult> {
    const model = this.model;
    const transform = options.transform ?? (model.preprocessing ? [...model.preprocessing] : []);
    const loader = new DataLoader(dataset, {
      batchSize: options.batchSize ?? 256,
      transform,
      backend: model.backend,
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
      ...(options.prefetch !== undefined ? { prefetch: options.prefetch } : {}),
    });
    const runner = new InferenceRunner(model);
    try {
      return await this.#evaluate(loader, runner);
    } finally {
      runner.dispose();
    }
  }

  /** One pass over `loader` in evaluation mode; forwards go through `runner` (captured after warm-up). */
  async #evaluate(loader: DataLoader, runner: InferenceRunner): Promise<EvalResult> {
    const model = this.model;
    const wasTraining = model.training;
    model.eval();
    const metrics = new DeviceMetrics(model.backend, model.config.numClasses);
    const window = new StepWindow(2);
    const start = performance.now();
    try {
      for await (const batch of loader.batches(0)) {
        const logits = runner.forward(batch.input);
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
      metrics.dispose();
      model.train(wasTraining);
      await loader.close();
    }
  }

  /** Trains on `train`, validating on `val` (or null) after every epoch. */
  async fit(train: Dataset, val: Dataset | null, options: FitOptions): Promise<FitResult> {
    const run = new FitRun(this.model, (loader, runner) => this.#evaluate(loader, runner), train, val, options);
    this.optimizer?.dispose();
    this.optimizer = run.optimizer;
    return run.run();
  }
}

/** One call of {@link Trainer.fit}: its settings, its resources, and the loop. */
class FitRun {
  readonly started = performance.now();
  readonly model: AlexNet;
  readonly optimizer: SGD;
  readonly epochs: number;
  readonly batchSize: number;
  readonly logEvery: number;
  readonly checkpointEvery: number;
  readonly stopAfter: number;
  readonly seed: bigint;
  readonly evalSpecs: TransformSpec[] | null;
  readonly schedule: LrSchedule;
  readonly baseLr: number;
  readonly loader: DataLoader;
  readonly valLoader: DataLoader | null;
  readonly directory: CheckpointDirectory | null;
  readonly progress: ProgressReporter;
  readonly log: MetricsLog | null;
  readonly signals: StopSignals | null;
  /** Training steps, captured into a graph per batch shape after warm-up (step.ts). */
  readonly stepper: TrainStepper;
  /** Validation forwards, likewise. */
  readonly inference: InferenceRunner;
  history: EpochRecord[] = [];
  lastCheckpoint: string | null = null;
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
    if (options === null || typeof options !== 'object') throw new TypeError('fit: options must be an object with epochs and batchSize');
    this.epochs = positiveInt(options.epochs, 'epochs');
    this.batchSize = positiveInt(options.batchSize, 'batchSize');
    this.logEvery = positiveInt(options.logEverySteps ?? 50, 'logEverySteps');
    this.checkpointEvery = nonNegativeInt(options.checkpointEverySteps ?? 0, 'checkpointEverySteps');
    this.stopAfter = options.stopAfterSteps === undefined ? Infinity : positiveInt(options.stopAfterSteps, 'stopAfterSteps');
    if (train?.classes?.length !== model.config.numClasses) {
      throw new RangeError(
        `the model has ${model.config.numClasses} outputs but the training set has ${train?.classes?.length} classes: build the model with numClasses: ${train?.classes?.length}`,
      );
    }
    if (val && val.classes.length !== train.classes.length) {
      throw new RangeError(`the validation set has ${val.classes.length} classes, the training set ${train.classes.length}`);
    }
    this.seed = seedValue(options.seed ?? 0, 'seed');
    const trainPipeline = toPipeline(options.trainTransform);
    const evalPipeline = toPipeline(options.evalTransform);
    this.evalSpecs = evalPipeline.specs ?? null;
    model.classes = [...train.classes];
    if (this.evalSpecs) model.preprocessing = this.evalSpecs;
    this.schedule = options.schedule ?? constantLR();
    const loaderOptions = {
      backend: model.backend,
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
      ...(options.prefetch !== undefined ? { prefetch: options.prefetch } : {}),
    };
    this.loader = new DataLoader(train, { batchSize: this.batchSize, shuffle: true, seed: this.seed, transform: trainPipeline, ...loaderOptions });
    this.valLoader = val ? new DataLoader(val, { batchSize: options.evalBatchSize ?? this.batchSize, transform: evalPipeline, ...loaderOptions }) : null;
    this.directory = options.checkpointDir ? new CheckpointDirectory(options.checkpointDir, { keepLast: options.keepLast ?? 3 }) : null;
    this.progress = createProgress(options.progress ?? 'auto', options.output ?? process.stdout, options.printEverySeconds ?? 10);
    this.log = options.metricsLog ? new MetricsLog(options.metricsLog) : null;
    this.optimizer = new SGD(model.namedParameters().map(([, p]) => p), options.optimizer ?? { lr: 0.01 });
    this.baseLr = this.optimizer.lr;
    this.stepper = new TrainStepper(model, this.optimizer, { log: (line) => this.progress.line(line) });
    this.inference = new InferenceRunner(model, { log: (line) => this.progress.line(line) });
    this.signals =
      options.handleSignals ?? true
        ? new StopSignals((signal) =>
            this.progress.line(`${signal}: stopping after this step${this.directory ? ' and saving a checkpoint' : ''} (repeat to quit at once)`),
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
    try {
      let position = await this.#start();
      for (; position.epoch < this.epochs; position = { epoch: position.epoch + 1, batch: 0, partial: null }) {
        const stopped = await this.#epoch(position);
        if (stopped) return this.#finish(this.stop, stopped);
      }
      await this.#writeCurves();
      this.log?.write({ type: 'end', steps: this.optimizer.steps, seconds: (performance.now() - this.started) / 1000 });
      return this.#finish(null, this.optimizer.steps);
    } finally {
      this.progress.close();
      this.signals?.remove();
      this.stepper.dispose();
      this.inference.dispose();
      await Promise.all([this.loader.close(), this.valLoader?.close()]);
      await this.log?.close();
    }
  }

  /** Where to start: the beginning, or a checkpoint's position (restoring the run's state from it). */
  async #start(): Promise<Position> {
    const { options, optimizer, schedule } = this;
    if (options.resume === undefined) {
      this.log?.write({
        type: 'start',
        config: this.model.config,
        epochs: this.epochs,
        batchSize: this.batchSize,
        optimizer: optimizer.getState(),
        schedule: schedule.name,
        trainSize: this.train.length,
        valSize: this.val?.length ?? 0,
      });
      return { epoch: 0, batch: 0, partial: null };
    }
    const checkpoint = await readResumeCheckpoint(options.resume);
    const state = restoreTraining(this.model, checkpoint, optimizer, schedule, {
      batchSize: this.batchSize,
      seed: this.seed,
      trainLength: this.train.length,
    });
    this.history = [...state.history];
    optimizer.lr = this.baseLr * schedule.factor({ epoch: state.epoch, batch: Math.min(state.batch, this.stepsPerEpoch - 1), stepsPerEpoch: this.stepsPerEpoch });
    this.progress.line(`resuming from ${checkpoint.source}: epoch ${state.epoch + 1}, batch ${state.batch}, step ${optimizer.steps}`);
    this.log?.write({ type: 'resume', from: checkpoint.source, epoch: state.epoch, batch: state.batch, step: optimizer.steps });
    return { epoch: state.epoch, batch: state.batch, partial: state.partial };
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
        ...(metric !== null && Number.isFinite(metric) ? { [METRIC_KEY]: String(metric) } : {}),
      },
    });
    this.lastCheckpoint = await this.directory.write(position.epoch, this.optimizer.steps, bytes);
    this.timing.checkpointSeconds += (performance.now() - saveStart) / 1000;
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
    let shown: MetricValues | null = null;
    const check = async (sums: MetricSums, upTo: number) => {
      await watch.check(sums, upTo, { epoch, lr: optimizer.lr, steps: optimizer.steps });
      shown = meansOf(sums);
    };
    const runImagesTotal = (epochs - epoch) * this.loader.samplesPerEpoch - position.batch * this.batchSize;
    let runImages = 0;
    try {
      let lr = optimizer.lr;
      for await (const batch of this.loader.batches(epoch, position.batch)) {
        lr = this.baseLr * schedule.factor({ epoch, batch: batch.index, stepsPerEpoch: this.stepsPerEpoch });
        optimizer.lr = lr;
        const { logits, loss } = this.stepper.step(batch.input, batch.labels);
        metrics.add(loss, logits, batch.labels);
        logits.dispose();
        const step = optimizer.steps;
        watch.record(step, batch.index, loss);
        epochImages += batch.size;
        runImages += batch.size;
        const size = batch.size;
        batch.dispose();
        if (this.options.callbacks?.onBatch) await this.options.callbacks.onBatch({ epoch, batch: batch.index, step, size, lr, loss });
        await window.after(model);

        // Logging points: start a read every `logEvery` steps; use it once it has arrived.
        if (reading?.done) {
          const r: PendingRead = reading;
          reading = null;
          if (r.error) throw r.error;
          await check(r.result!, r.upTo);
          log?.write({ type: 'step', epoch, batch: batch.index + 1, step, loss: shown!.loss, top1: shown!.top1, lr });
        }
        if (!reading && step % this.logEvery === 0) {
          const r: PendingRead = { done: false, upTo: watch.pending };
          metrics.sums().then(
            (s) => Object.assign(r, { done: true, result: s }),
            (e: unknown) => Object.assign(r, { done: true, error: e }),
          );
          reading = r;
        }
        const elapsed = (performance.now() - epochStart) / 1000;
        progress.update({
          epoch,
          epochs,
          batch: batch.index + 1,
          batches: this.stepsPerEpoch,
          loss: (shown as MetricValues | null)?.loss ?? null,
          top1: (shown as MetricValues | null)?.top1 ?? null,
          lr,
          imagesPerSecond: epochImages / Math.max(elapsed, 1e-9),
          etaSeconds: runImages > 0 ? (elapsed / runImages) * Math.max(runImagesTotal - runImages, 0) : null,
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
      model.train();
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
      if (this.options.callbacks?.onEpoch) await this.options.callbacks.onEpoch(record);
      if (this.stop) {
        progress.line(`stopped (${this.stop}) after epoch ${epoch + 1}` + (this.lastCheckpoint ? `; checkpoint ${this.lastCheckpoint}` : ''));
        log?.write({ type: 'interrupted', reason: this.stop, epoch: epoch + 1, batch: 0, step: optimizer.steps, checkpoint: this.lastCheckpoint });
        return optimizer.steps;
      }
      return null;
    } finally {
      await window.drain().catch(() => {});
      watch.dispose();
      metrics.dispose();
    }
  }

  /** The training curves (a convenience: a machine without a working sharp still gets its trained model). */
  async #writeCurves(): Promise<void> {
    const { options, history } = this;
    if (!options.curves || history.length === 0) return;
    try {
      await writeCurvesPng(options.curves, history, `${this.model.config.preset} AlexNet, ${this.epochs} epochs, batch ${this.batchSize}, ${this.schedule.name}`);
    } catch (error) {
      this.progress.line(`training curves not written to ${options.curves}: ${(error as Error).message.split('\n')[0]}`);
    }
  }

  #finish(interrupted: FitResult['interrupted'], steps: number): FitResult {
    return {
      history: this.history,
      interrupted,
      checkpoint: this.lastCheckpoint,
      steps,
      seconds: (performance.now() - this.started) / 1000,
      timing: this.timing,
    };
  }
}
