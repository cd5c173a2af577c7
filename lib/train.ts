/**
 * The Trainer: the training loop over a {@link DataLoader}, with validation, metrics, progress,
 * a JSON-lines log, callbacks, learning-rate schedules, checkpoints and exact resumption.
 *
 * How a step flows: the loader hands over a batch already on the device (prepared while the
 * previous step ran); forward, fused cross-entropy, backward and the SGD update are enqueued; the
 * loss and top-1/top-5 counts are accumulated on the device. Nothing is read back per step: the
 * host only waits for the step two back to finish (so the queue, and memory, stay bounded while
 * the device never idles) and reads the metrics at logging points, without waiting for them.
 *
 * Safety: a NaN or infinite loss stops training with a {@link TrainingDivergedError} naming the
 * first bad step; SIGINT (Ctrl-C) or SIGTERM stops after the current step, saves a checkpoint and
 * returns `interrupted` (a second Ctrl-C quits at once). A checkpoint holds everything the run
 * depends on (parameters, momentum, step count, dropout streams, data order and augmentation seed,
 * schedule, the epoch's partial metrics), so on the CPU backend a resumed run is bit-identical to
 * an uninterrupted one.
 * @module
 */
import { stat } from 'node:fs/promises';
import * as path from 'node:path';
import type { Writable } from 'node:stream';

import { CheckpointError, encodeCheckpoint, loadOptimizerState, loadParameters, readCheckpoint, type Checkpoint } from './checkpoint';
import type { Dataset } from './data/dataset';
import { DataLoader } from './data/loader';
import { Pipeline, type TransformList } from './data/transforms/pipeline';
import type { TransformSpec } from './data/transforms/transform';
import { CheckpointDirectory, METRIC_KEY } from './io/checkpointDirectory';
import { AlexNet } from './models/alexnet';
import { Dropout, type DropoutState } from './nn/dropout';
import { CrossEntropyLoss } from './nn/loss';
import type { Module } from './nn/module';
import { nonNegativeInt, positiveInt, seedValue } from './validate';
import { constantLR, type LrSchedule, type ScheduleState } from './optim/schedules';
import { SGD, type SgdOptions } from './optim/sgd';
import { writeCurvesPng } from './plot';
import { type Seed, type Tensor } from './tensor';
import { describe } from './validate';
import { DeviceMetrics, meansOf, type MetricSums, type MetricValues } from './training/metrics';
import { MetricsLog } from './training/metricsLog';
import { createProgress, type ProgressMode, type ProgressReporter } from './training/progress';

/** Training stopped because the loss became NaN or infinite. */
export class TrainingDivergedError extends Error {
  /** Always 'TrainingDivergedError'. */
  override readonly name = 'TrainingDivergedError';
  /** Always 'ERR_TRAINING_DIVERGED'. */
  readonly code = 'ERR_TRAINING_DIVERGED';
  constructor(
    message: string,
    /** The optimizer step (1-based) whose loss was first not finite. */
    readonly step: number,
    /** Its epoch (0-based). */
    readonly epoch: number,
    /** Its batch within the epoch (0-based). */
    readonly batch: number,
  ) {
    super(message);
  }
}

/** What one epoch gave. Accuracies are fractions; losses are mean cross-entropy. */
export interface EpochRecord {
  /** 0-based. */
  epoch: number;
  /** Mean training loss over the epoch (with dropout active, before each step's update). */
  trainLoss: number;
  /** Training top-1 accuracy over the epoch. */
  trainTop1: number;
  /** Training top-5 accuracy over the epoch. */
  trainTop5: number;
  /** Mean validation loss after the epoch, or null without a validation set. */
  valLoss: number | null;
  /** Validation top-1 accuracy after the epoch, or null. */
  valTop1: number | null;
  /** Validation top-5 accuracy after the epoch, or null. */
  valTop5: number | null;
  /** The learning rate of the epoch's last step. */
  lr: number;
  /** Optimizer steps at the end of the epoch. */
  steps: number;
  /** Wall time of the epoch: training and validation (of this process's part, after a resume). */
  seconds: number;
  /** Training images per second (this process's part). */
  imagesPerSecond: number;
}

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

/** A metrics read in flight: `upTo` counts the step losses it covers. */
interface PendingRead {
  done: boolean;
  result?: MetricSums;
  error?: unknown;
  upTo: number;
}

/** Bounds how far the host runs ahead of the device: at most `depth` steps queued. */
class StepWindow {
  readonly #fences: Promise<void>[] = [];
  constructor(readonly depth: number) {}
  async after(model: AlexNet): Promise<void> {
    const fence = model.backend.synchronize();
    fence.catch(() => {}); // awaited below or in drain(); marks early failures as handled
    this.#fences.push(fence);
    while (this.#fences.length > this.depth) await this.#fences.shift();
  }
  async drain(): Promise<void> {
    while (this.#fences.length > 0) await this.#fences.shift();
  }
}

function fmt(v: number | null, digits = 4): string {
  return v === null || !Number.isFinite(v) ? '-' : v.toFixed(digits);
}

/** One line per epoch. */
export function formatEpoch(r: EpochRecord, epochs: number): string {
  const val = r.valLoss === null ? '' : `  val loss ${fmt(r.valLoss)} top1 ${fmt(r.valTop1)} top5 ${fmt(r.valTop5)}`;
  return (
    `epoch ${r.epoch + 1}/${epochs}  train loss ${fmt(r.trainLoss)} top1 ${fmt(r.trainTop1)} top5 ${fmt(r.trainTop5)}${val}` +
    `  lr ${r.lr.toPrecision(3)}  ${r.seconds.toFixed(1)} s  ${Math.round(r.imagesPerSecond)} img/s`
  );
}

function toPipeline(t: TransformList | Pipeline | undefined): Pipeline {
  return t instanceof Pipeline ? t : new Pipeline(t ?? []);
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
    return this.#evaluate(loader);
  }

  async #evaluate(loader: DataLoader): Promise<EvalResult> {
    const model = this.model;
    const wasTraining = model.training;
    model.eval();
    const metrics = new DeviceMetrics(model.backend, model.config.numClasses);
    const window = new StepWindow(2);
    const start = performance.now();
    try {
      for await (const batch of loader.batches(0)) {
        const logits = model.forward(batch.input);
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
    const started = performance.now();
    const model = this.model;
    if (options === null || typeof options !== 'object') throw new TypeError('fit: options must be an object with epochs and batchSize');
    const epochs = positiveInt(options.epochs, 'epochs');
    const batchSize = positiveInt(options.batchSize, 'batchSize');
    const logEvery = positiveInt(options.logEverySteps ?? 50, 'logEverySteps');
    const checkpointEvery = nonNegativeInt(options.checkpointEverySteps ?? 0, 'checkpointEverySteps');
    const stopAfter = options.stopAfterSteps === undefined ? Infinity : positiveInt(options.stopAfterSteps, 'stopAfterSteps');
    if (train?.classes?.length !== model.config.numClasses) {
      throw new RangeError(
        `the model has ${model.config.numClasses} outputs but the training set has ${train?.classes?.length} classes: build the model with numClasses: ${train?.classes?.length}`,
      );
    }
    if (val && val.classes.length !== train.classes.length) {
      throw new RangeError(`the validation set has ${val.classes.length} classes, the training set ${train.classes.length}`);
    }
    const seed = seedValue(options.seed ?? 0, 'seed');
    const trainPipeline = toPipeline(options.trainTransform);
    const evalPipeline = toPipeline(options.evalTransform);
    const evalSpecs: TransformSpec[] | null = evalPipeline.specs ?? null;
    model.classes = [...train.classes];
    if (evalSpecs) model.preprocessing = evalSpecs;
    const schedule = options.schedule ?? constantLR();
    const sgdOptions: SgdOptions = options.optimizer ?? { lr: 0.01 };
    const backend = model.backend;
    const loaderOptions = {
      backend,
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
      ...(options.prefetch !== undefined ? { prefetch: options.prefetch } : {}),
    };
    const loader = new DataLoader(train, { batchSize, shuffle: true, seed, transform: trainPipeline, ...loaderOptions });
    const valLoader = val ? new DataLoader(val, { batchSize: options.evalBatchSize ?? batchSize, transform: evalPipeline, ...loaderOptions }) : null;
    const stepsPerEpoch = loader.batchesPerEpoch;
    const directory = options.checkpointDir ? new CheckpointDirectory(options.checkpointDir, { keepLast: options.keepLast ?? 3 }) : null;
    const output = options.output ?? process.stdout;
    const progress: ProgressReporter = createProgress(options.progress ?? 'auto', output, options.printEverySeconds ?? 10);
    const log = options.metricsLog ? new MetricsLog(options.metricsLog) : null;
    const dropouts = dropoutLayers(model);

    this.optimizer?.dispose();
    const optimizer = new SGD(model.namedParameters().map(([, p]) => p), sgdOptions);
    this.optimizer = optimizer;
    const baseLr = optimizer.lr;

    // Where to start: the beginning, or a checkpoint's position.
    let epoch = 0;
    let startBatch = 0;
    let partial: MetricSums | null = null;
    let history: EpochRecord[] = [];
    if (options.resume !== undefined) {
      const checkpoint = await this.#readResume(options.resume);
      const state = this.#restore(checkpoint, optimizer, schedule, dropouts, { batchSize, seed, trainLength: train.length });
      epoch = state.epoch;
      startBatch = state.batch;
      partial = state.partial;
      history = [...state.history];
      optimizer.lr = baseLr * schedule.factor({ epoch, batch: Math.min(startBatch, stepsPerEpoch - 1), stepsPerEpoch });
      progress.line(`resuming from ${checkpoint.source}: epoch ${epoch + 1}, batch ${startBatch}, step ${optimizer.steps}`);
      log?.write({ type: 'resume', from: checkpoint.source, epoch, batch: startBatch, step: optimizer.steps });
    } else {
      log?.write({ type: 'start', config: model.config, epochs, batchSize, optimizer: optimizer.getState(), schedule: schedule.name, trainSize: train.length, valSize: val?.length ?? 0 });
    }

    let stop: FitResult['interrupted'] = null;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stop === 'SIGINT' || stop === 'SIGTERM') {
        // Second signal: give up on the clean stop.
        removeSignals();
        process.kill(process.pid, signal);
        return;
      }
      stop = signal as 'SIGINT' | 'SIGTERM';
      progress.line(`${signal}: stopping after this step${directory ? ' and saving a checkpoint' : ''} (repeat to quit at once)`);
    };
    const handleSignals = options.handleSignals ?? true;
    const removeSignals = () => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    };
    if (handleSignals) {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    }

    let lastCheckpoint: string | null = null;
    const timing = { validationSeconds: 0, checkpointSeconds: 0 };
    const finish = (interrupted: FitResult['interrupted'], steps: number): FitResult => ({
      history,
      interrupted,
      checkpoint: lastCheckpoint,
      steps,
      seconds: (performance.now() - started) / 1000,
      timing,
    });
    const save = async (position: { epoch: number; batch: number }, sums: MetricSums | null, metric: number | null): Promise<void> => {
      if (!directory) return;
      const saveStart = performance.now();
      const training: TrainingState = {
        version: 1,
        epoch: position.epoch,
        batch: position.batch,
        epochs,
        batchSize,
        baseLr,
        data: { seed: seed.toString(), trainLength: train.length },
        schedule: schedule.getState(),
        scheduleName: schedule.name,
        dropout: Object.fromEntries(dropouts.map(([name, d]) => [name, d.getState()])),
        partial: sums,
        history,
      };
      const bytes = await encodeCheckpoint(model, {
        classes: train.classes,
        preprocessing: evalSpecs,
        optimizer,
        training,
        metadata: {
          ...options.checkpointMetadata,
          ...(metric !== null && Number.isFinite(metric) ? { [METRIC_KEY]: String(metric) } : {}),
        },
      });
      lastCheckpoint = await directory.write(position.epoch, optimizer.steps, bytes);
      timing.checkpointSeconds += (performance.now() - saveStart) / 1000;
    };

    const window = new StepWindow(2);
    const runImagesTotal = (epochs - epoch) * loader.samplesPerEpoch - startBatch * batchSize;
    let runImages = 0;
    const runStart = performance.now();
    try {
      for (; epoch < epochs; epoch++, startBatch = 0, partial = null) {
        model.train();
        const epochStart = performance.now();
        let epochImages = 0;
        const metrics = new DeviceMetrics(backend, model.config.numClasses, partial ?? undefined);
        // Losses since the last check, kept to name the first bad step if the running sum goes non-finite.
        let recent: { step: number; batch: number; loss: Tensor }[] = [];
        let reading: PendingRead | null = null;
        let shown: MetricValues | null = null;
        const check = async (sums: MetricSums, upTo: number) => {
          const kept = recent.slice(0, upTo);
          recent = recent.slice(upTo);
          if (!Number.isFinite(sums.lossSum)) {
            for (const r of kept) {
              const value = (await r.loss.toArray())[0]!;
              if (!Number.isFinite(value)) {
                throw new TrainingDivergedError(
                  `the training loss became ${value} at step ${r.step} (epoch ${epoch + 1}, batch ${r.batch}, lr ${optimizer.lr}): ` +
                    `lower the learning rate, or check the data`,
                  r.step,
                  epoch,
                  r.batch,
                );
              }
            }
            throw new TrainingDivergedError(`the training loss became non-finite before step ${optimizer.steps}`, optimizer.steps, epoch, 0);
          }
          for (const r of kept) r.loss.dispose();
          shown = meansOf(sums);
        };
        try {
          let lr = optimizer.lr;
          for await (const batch of loader.batches(epoch, startBatch)) {
            lr = baseLr * schedule.factor({ epoch, batch: batch.index, stepsPerEpoch });
            optimizer.lr = lr;
            const logits = model.forward(batch.input);
            const { loss, gradLogits } = this.#loss.compute(logits, batch.labels);
            model.backward(gradLogits);
            gradLogits.dispose();
            optimizer.step();
            metrics.add(loss, logits, batch.labels);
            logits.dispose();
            const step = optimizer.steps;
            recent.push({ step, batch: batch.index, loss });
            epochImages += batch.size;
            runImages += batch.size;
            const size = batch.size;
            batch.dispose();
            if (options.callbacks?.onBatch) await options.callbacks.onBatch({ epoch, batch: batch.index, step, size, lr, loss });
            await window.after(model);

            // Logging points: start a read every `logEvery` steps; use it once it has arrived.
            if (reading?.done) {
              const r = reading;
              reading = null;
              if (r.error) throw r.error;
              await check(r.result!, r.upTo);
              log?.write({ type: 'step', epoch, batch: batch.index + 1, step, loss: shown!.loss, top1: shown!.top1, lr });
            }
            if (!reading && step % logEvery === 0) {
              const r: PendingRead = { done: false, upTo: recent.length };
              metrics.sums().then(
                (s) => Object.assign(r, { done: true, result: s }),
                (e: unknown) => Object.assign(r, { done: true, error: e }),
              );
              reading = r;
            }
            const elapsed = (performance.now() - epochStart) / 1000;
            const runElapsed = (performance.now() - runStart) / 1000;
            progress.update({
              epoch,
              epochs,
              batch: batch.index + 1,
              batches: stepsPerEpoch,
              loss: (shown as MetricValues | null)?.loss ?? null,
              top1: (shown as MetricValues | null)?.top1 ?? null,
              lr,
              imagesPerSecond: epochImages / Math.max(elapsed, 1e-9),
              etaSeconds: runImages > 0 ? (runElapsed / runImages) * Math.max(runImagesTotal - runImages, 0) : null,
            });

            if (step >= stopAfter && !stop) stop = 'stopAfterSteps';
            const periodic = checkpointEvery > 0 && step % checkpointEvery === 0 && batch.index + 1 < stepsPerEpoch;
            if (stop || periodic) {
              reading = null; // the full check below covers whatever a pending read would
              await window.drain();
              const sums = await metrics.sums();
              await check(sums, recent.length);
              await save({ epoch, batch: batch.index + 1 }, sums, null);
              if (stop) {
                progress.close();
                progress.line(
                  `stopped (${stop}) at epoch ${epoch + 1}, batch ${batch.index + 1}, step ${step}` +
                    (lastCheckpoint ? `; checkpoint ${lastCheckpoint}` : '; no checkpoint folder, nothing saved'),
                );
                log?.write({ type: 'interrupted', reason: stop, epoch, batch: batch.index + 1, step, checkpoint: lastCheckpoint });
                return finish(stop, step);
              }
            }
          }
          await window.drain();
          const trainSeconds = (performance.now() - epochStart) / 1000;
          const sums = await metrics.sums();
          await check(sums, recent.length);
          const trained = meansOf(sums);
          const validationStart = performance.now();
          const validation = valLoader ? await this.#evaluate(valLoader) : null;
          timing.validationSeconds += (performance.now() - validationStart) / 1000;
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
          history.push(record);
          progress.close();
          progress.line(formatEpoch(record, epochs));
          log?.write({ type: 'epoch', ...record });
          await save({ epoch: epoch + 1, batch: 0 }, null, validation?.top1 ?? null);
          if (options.callbacks?.onEpoch) await options.callbacks.onEpoch(record);
          if (stop) {
            progress.line(`stopped (${stop}) after epoch ${epoch + 1}` + (lastCheckpoint ? `; checkpoint ${lastCheckpoint}` : ''));
            log?.write({ type: 'interrupted', reason: stop, epoch: epoch + 1, batch: 0, step: optimizer.steps, checkpoint: lastCheckpoint });
            return finish(stop, optimizer.steps);
          }
        } finally {
          for (const r of recent) r.loss.dispose();
          metrics.dispose();
        }
      }
      if (options.curves && history.length > 0) {
        try {
          await writeCurvesPng(options.curves, history, `${model.config.preset} AlexNet, ${epochs} epochs, batch ${batchSize}, ${schedule.name}`);
        } catch (error) {
          // The curves are a convenience: a machine without a working sharp still gets its trained model.
          progress.line(`training curves not written to ${options.curves}: ${(error as Error).message.split('\n')[0]}`);
        }
      }
      log?.write({ type: 'end', steps: optimizer.steps, seconds: (performance.now() - started) / 1000 });
      return finish(null, optimizer.steps);
    } finally {
      progress.close();
      if (handleSignals) removeSignals();
      await window.drain().catch(() => {});
      await Promise.all([loader.close(), valLoader?.close()]);
      await log?.close();
    }
  }

  async #readResume(resume: string | Checkpoint): Promise<Checkpoint> {
    if (typeof resume !== 'string') return resume;
    let isDir = false;
    try {
      isDir = (await stat(resume)).isDirectory();
    } catch {
      throw new CheckpointError(`${resume}: no such checkpoint file or folder`);
    }
    if (!isDir) return readCheckpoint(resume);
    const latest = await new CheckpointDirectory(resume).latest();
    if (!latest) throw new CheckpointError(`${path.resolve(resume)}: holds no checkpoints (checkpoint-e*-s*.safetensors)`);
    return readCheckpoint(latest.file);
  }

  #restore(
    checkpoint: Checkpoint,
    optimizer: SGD,
    schedule: LrSchedule,
    dropouts: [string, Dropout][],
    expected: { batchSize: number; seed: bigint; trainLength: number },
  ): TrainingState {
    const model = this.model;
    const source = checkpoint.source;
    const state = checkpoint.training;
    if (!isTrainingState(state)) throw new CheckpointError(`${source}: holds no training state (a weights-only file cannot be resumed)`);
    if (checkpoint.config) {
      for (const key of ['preset', 'numClasses', 'inChannels', 'inputSize', 'width'] as const) {
        if (checkpoint.config[key] !== model.config[key]) {
          throw new CheckpointError(`${source}: was saved from a model with ${key} ${checkpoint.config[key]}, this one has ${model.config[key]}`);
        }
      }
    }
    if (state.batchSize !== expected.batchSize) {
      throw new CheckpointError(`${source}: was trained with batch size ${state.batchSize}; resume with the same batch size (got ${expected.batchSize})`);
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
      throw new CheckpointError(`${source}: its schedule (${state.scheduleName}) does not match this run's (${schedule.name}): ${(error as Error).message}`);
    }
    for (const [name, layer] of dropouts) {
      const saved = state.dropout[name];
      if (!saved) throw new CheckpointError(`${source}: has no state for dropout layer ${JSON.stringify(name)}`);
      layer.setState(saved);
    }
    return state;
  }
}

