/**
 * Timing this project's work on a backend: a whole training step, inference, and each layer's
 * forward and backward pass at a preset's shapes. `alexnet bench` and the scripts in bench/ use it.
 *
 * How it measures: every timed iteration starts after the backend's queue has drained, enqueues the
 * work, then waits with a blocking fence (no event-loop hop is timed), so each sample is the wall
 * time from the first call to the last result being in device memory. Inputs are already on the
 * device and nothing is read back. Results are medians over `iterations` samples after `warmup`
 * untimed ones (the first iterations build oneDNN primitives, choose cuDNN algorithms and fill the
 * caching allocator).
 *
 * What a training step is: forward in training mode, fused softmax cross-entropy (mean) with its
 * gradient, backward through every layer (no gradient for the input images), and an SGD update with
 * momentum 0.9 and weight decay 5e-4 — the work `torch.optim.SGD` and `loss.backward()` do in the
 * PyTorch baseline (bench/pytorch_baseline.py).
 *
 * Steps and inference forwards run as the Trainer runs them: captured into a graph after warm-up
 * and replayed (lib/training/stepCapture.ts; `graphs: false` times plain calls instead). Each timed
 * iteration of those two also records the device's own time between two marks in the queue (CUDA
 * events around the replay; on the CPU build the time its worker spent inside ops): next to the
 * wall time, it shows how much the host adds.
 * @module
 */
import { getBackend, MATH_MODES, type Backend, type BackendChoice, type BackendKind, type MathMode } from './backend/backend';
import { callNative } from './errors';
import { AlexNet, createAlexNet, PRESETS, type PresetName } from './models/alexnet';
import { ReLU } from './nn/activation';
import { Conv2d } from './nn/conv2d';
import { Flatten } from './nn/flatten';
import { Linear } from './nn/linear';
import { Module, type Parameter } from './nn/module';
import { Sequential } from './nn/sequential';
import { nonNegativeInt, oneOf, options as checkOptions, positiveInt } from './validate';
import { softmaxCrossEntropy } from './ops/loss';
import { SGD } from './optim/sgd';
import { InferenceRunner, TrainStepper } from './training/step';
import { Tensor } from './tensor';
import { describe } from './validate';

/** Milliseconds per iteration. */
export interface Timing {
  /** Median of the timed iterations. */
  medianMs: number;
  /** The fastest iteration (the least disturbed by other work on the machine). */
  minMs: number;
  /** The slowest iteration. */
  maxMs: number;
  /** Every timed iteration, in the order they ran. */
  samplesMs: number[];
}

/** What to benchmark and how long. */
export interface BenchmarkOptions {
  /** Which AlexNet; default 'torchvision'. */
  preset?: PresetName;
  /** Images per batch (required). */
  batchSize: number;
  /** Backend or choice; default: the process default. */
  backend?: Backend | BackendChoice;
  /** Math mode for the run (restored afterwards); default: the backend's current mode. */
  mathMode?: MathMode;
  /** Untimed iterations first; default 3. */
  warmup?: number;
  /** Timed iterations; default 10. */
  iterations?: number;
  /** Channel-width multiplier passed to the model (for quick runs); default 1 (full size). */
  width?: number;
  /**
   * Capture training steps and inference forwards into graphs and time the replays, as the Trainer
   * runs them (default true); false times plain calls. With graphs, at least 3 untimed iterations
   * run (plain, pool warm-up, capture) whatever `warmup` says.
   */
  graphs?: boolean;
}

/** A whole-model measurement. */
export interface StepBenchmark {
  /** 'train': forward, loss, backward and SGD; 'inference': forward in evaluation mode. */
  task: 'train' | 'inference';
  /** The AlexNet preset timed. */
  preset: PresetName;
  /** Images per iteration. */
  batchSize: number;
  /** The backend that ran it. */
  backend: BackendKind;
  /** The math mode it ran in (the CPU computes in fp32 whatever this says). */
  mathMode: MathMode;
  /** Milliseconds per iteration: wall time, from the first call to the device being idle. */
  timing: Timing;
  /** batchSize / median seconds. */
  imagesPerSecond: number;
  /**
   * The device's own time per iteration (CUDA events around it; on the CPU build, the time its
   * worker spent inside ops), whose difference from {@link StepBenchmark.timing} is the host's share.
   */
  deviceTiming: Timing;
  /** Whether the timed iterations were graph replays (false: plain calls, or a capture that failed). */
  captured: boolean;
}

/**
 * One unit of a training step timed on its own. Units are the model's layers, with a Conv2d or
 * Linear and the ReLU after it taken together (they run as one fused op); Flatten (a view) is left
 * out. Two extra rows close the step: `loss` (softmax cross-entropy with its gradient, one fused op,
 * so `backward` is null) and `sgd` (the update of every parameter, timed as `forward`).
 */
export interface LayerBenchmark {
  /** The first layer's dotted name in the model, as PyTorch names it ('features.0'), or 'loss' / 'sgd'. */
  name: string;
  /** Layer classes in the unit, joined with '+' ('Conv2d+ReLU'). */
  layers: string;
  /** The unit's input shape (for `sgd`, the number of parameters). */
  inputShape: number[];
  /** The unit's output shape. */
  outputShape: number[];
  /** The forward pass (for `loss`, the loss with its gradient; for `sgd`, the update). */
  forward: Timing;
  /** The backward pass; null for the loss and SGD rows. */
  backward: Timing | null;
}

/** Per-layer timings of a preset at one batch size. */
export interface LayersBenchmark {
  /** The AlexNet preset timed. */
  preset: PresetName;
  /** Images per batch the shapes come from. */
  batchSize: number;
  /** The backend that ran it. */
  backend: BackendKind;
  /** The math mode it ran in. */
  mathMode: MathMode;
  /** One row per unit in forward order, then `loss` and `sgd`. */
  rows: LayerBenchmark[];
}

interface Resolved {
  preset: PresetName;
  batchSize: number;
  backend: Backend;
  mathMode: MathMode;
  warmup: number;
  iterations: number;
  width: number;
  graphs: boolean;
}

/** Hyper-parameters of the timed SGD update (those of the paper and of torchvision's reference script). */
export const BENCHMARK_SGD = { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 } as const;

function resolve(options: BenchmarkOptions): Resolved {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`benchmark options must be an object, got ${describe(options)}`);
  }
  checkOptions(options, ['preset', 'batchSize', 'backend', 'mathMode', 'warmup', 'iterations', 'width', 'graphs'], 'benchmark options');
  const preset = oneOf(options.preset ?? 'torchvision', PRESETS, 'preset');
  const mathMode = options.mathMode === undefined ? undefined : oneOf(options.mathMode, MATH_MODES, 'mathMode');
  const width = options.width ?? 1;
  if (typeof width !== 'number' || !(width > 0) || width > 16) {
    throw new RangeError(`width must be a number in (0, 16], got ${describe(width)}`);
  }
  const backend = getBackend(options.backend);
  const graphs = options.graphs ?? true;
  if (typeof graphs !== 'boolean') throw new TypeError(`graphs must be a boolean, got ${describe(graphs)}`);
  return {
    preset,
    batchSize: positiveInt(options.batchSize, 'batchSize'),
    backend,
    mathMode: mathMode ?? backend.mathMode,
    warmup: nonNegativeInt(options.warmup ?? 3, 'warmup'),
    iterations: positiveInt(options.iterations ?? 10, 'iterations'),
    width,
    graphs,
  };
}

/** Median, min and max of samples (the median of an even count is the mean of the middle two). */
export function summarize(samplesMs: readonly number[]): Timing {
  if (samplesMs.length === 0) throw new RangeError('summarize: samplesMs must not be empty');
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const medianMs = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { medianMs, minMs: sorted[0]!, maxMs: sorted.at(-1)!, samplesMs: [...samplesMs] };
}

/** Blocks until everything queued on `backend` has run (a failure among it is thrown here). */
function drain(backend: Backend): void {
  callNative(() => backend.native.synchronizeBlocking());
}

/** Wall time of `work` plus the wait for what it queued, in milliseconds. */
function timeOnce(backend: Backend, work: () => void): number {
  const start = process.hrtime.bigint();
  work();
  drain(backend);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Runs `body` with the backend in `r.mathMode`, restoring the previous mode afterwards. */
async function withMathMode<T>(r: Resolved, body: () => Promise<T>): Promise<T> {
  const previous = r.backend.mathMode;
  if (previous !== r.mathMode) r.backend.setMathMode(r.mathMode);
  try {
    return await body();
  } finally {
    if (previous !== r.mathMode) r.backend.setMathMode(previous);
  }
}

/** Lets pending I/O (progress output, signals) through between measurements. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((done) => setImmediate(done));
}

/** Every trainable parameter of the model (Module.parameters() lists only a module's own). */
function allParameters(model: Module): Parameter[] {
  return model.namedParameters().map(([, p]) => p);
}

function buildModel(r: Resolved): AlexNet {
  // PyTorch's default initialization for every preset, as the baseline has: the values do not change
  // the arithmetic, and small weights keep activations clear of denormals (slow on some CPUs).
  return createAlexNet({ preset: r.preset, width: r.width, init: 'pytorch', seed: 1, backend: r.backend });
}

function randomImages(model: AlexNet, r: Resolved): Tensor {
  const { inChannels, inputSize } = model.config;
  return Tensor.uniform([r.batchSize, inChannels, inputSize, inputSize], { low: -1, high: 1, seed: 2 }, { backend: r.backend });
}

/** Class indices spread over every class, as int32 on the backend. */
function labelsFor(rows: number, classes: number, backend: Backend): Tensor {
  const labels = Int32Array.from({ length: rows }, (_, i) => (i * 7919) % classes);
  return Tensor.fromArray(labels, [rows], { backend, dtype: 'int32' });
}

/** Runs `step` warmup + iterations times and times the last `iterations`. */
async function sample(r: Resolved, step: () => void): Promise<Timing> {
  drain(r.backend);
  for (let i = 0; i < r.warmup; i++) timeOnce(r.backend, step);
  const samples: number[] = [];
  for (let i = 0; i < r.iterations; i++) samples.push(timeOnce(r.backend, step));
  await yieldToEventLoop();
  return summarize(samples);
}

/** Wall and device time of `work`: the device's between marks queued before and after it. */
function timeWithDevice(backend: Backend, work: () => void): { wall: number; device: number } {
  const start = process.hrtime.bigint();
  const before = callNative(() => backend.native.mark());
  work();
  const after = callNative(() => backend.native.mark());
  drain(backend);
  const wall = Number(process.hrtime.bigint() - start) / 1e6;
  return { wall, device: callNative(() => backend.native.msBetween(before, after)) };
}

/** Like sample(), also timing the device's own work; `untimed` iterations first. */
async function sampleWithDevice(r: Resolved, untimed: number, step: () => void): Promise<{ wall: Timing; device: Timing }> {
  drain(r.backend);
  for (let i = 0; i < untimed; i++) timeOnce(r.backend, step);
  const wall: number[] = [];
  const device: number[] = [];
  for (let i = 0; i < r.iterations; i++) {
    const t = timeWithDevice(r.backend, step);
    wall.push(t.wall);
    device.push(t.device);
  }
  await yieldToEventLoop();
  return { wall: summarize(wall), device: summarize(device) };
}

/** Untimed iterations: with graphs, enough to reach the replays (plain, pool warm-up, capture). */
function untimedIterations(r: Resolved): number {
  return r.graphs ? Math.max(r.warmup, 3) : r.warmup;
}

function stepResult(task: StepBenchmark['task'], r: Resolved, timing: { wall: Timing; device: Timing }, captured: boolean): StepBenchmark {
  return {
    task,
    preset: r.preset,
    batchSize: r.batchSize,
    backend: r.backend.kind,
    mathMode: r.mathMode,
    timing: timing.wall,
    imagesPerSecond: r.batchSize / (timing.wall.medianMs / 1000),
    deviceTiming: timing.device,
    captured,
  };
}

/**
 * Times a full training step (forward, softmax cross-entropy, backward, SGD with momentum 0.9 and
 * weight decay 5e-4) of `options.preset` at `options.batchSize`.
 */
export async function benchmarkTraining(options: BenchmarkOptions): Promise<StepBenchmark> {
  const r = resolve(options);
  return withMathMode(r, async () => {
    const model = buildModel(r);
    const images = randomImages(model, r);
    const labels = labelsFor(r.batchSize, model.config.numClasses, r.backend);
    const optimizer = new SGD(allParameters(model), BENCHMARK_SGD);
    const stepper = new TrainStepper(model, optimizer, { graphs: r.graphs });
    try {
      model.train();
      const timing = await sampleWithDevice(r, untimedIterations(r), () => {
        const { logits, loss } = stepper.step(images, labels);
        logits.dispose();
        loss.dispose();
      });
      return stepResult('train', r, timing, stepper.capture.phaseFor([images, labels]) === 'replay');
    } finally {
      stepper.dispose();
      optimizer.dispose();
      model.dispose();
      images.dispose();
      labels.dispose();
    }
  });
}

/** Times a forward pass in evaluation mode (dropout off, nothing kept for backward). */
export async function benchmarkInference(options: BenchmarkOptions): Promise<StepBenchmark> {
  const r = resolve(options);
  return withMathMode(r, async () => {
    const model = buildModel(r);
    const images = randomImages(model, r);
    model.eval();
    const runner = new InferenceRunner(model, { graphs: r.graphs });
    try {
      const timing = await sampleWithDevice(r, untimedIterations(r), () => runner.forward(images).dispose());
      return stepResult('inference', r, timing, runner.capture.phaseFor([images]) === 'replay');
    } finally {
      runner.dispose();
      model.dispose();
      images.dispose();
    }
  });
}

/** A model's leaf layers with their dotted names, in forward order. */
function leafLayers(module: Module, prefix = ''): [string, Module][] {
  const children = module.children();
  if (children.length === 0) return [[prefix.replace(/\.$/, ''), module]];
  return children.flatMap(([name, child]) => leafLayers(child, `${prefix}${name}.`));
}

/** The model's leaf layers grouped as they run: Conv2d/Linear with a following ReLU together; Flatten dropped. */
export function layerUnits(model: Module): { name: string; modules: Module[] }[] {
  const leaves = leafLayers(model);
  const units: { name: string; modules: Module[] }[] = [];
  for (let i = 0; i < leaves.length; i++) {
    const [name, layer] = leaves[i]!;
    if (layer instanceof Flatten) continue;
    const next = leaves[i + 1]?.[1];
    if ((layer instanceof Conv2d || layer instanceof Linear) && next instanceof ReLU) {
      units.push({ name, modules: [layer, next] });
      i++;
    } else {
      units.push({ name, modules: [layer] });
    }
  }
  return units;
}

function randomLike(shape: readonly number[], seed: number, backend: Backend): Tensor {
  return Tensor.uniform(shape, { low: -1, high: 1, seed }, { backend });
}

/**
 * Times each layer's forward and backward pass (training mode) at the shapes a batch of
 * `options.batchSize` gives it, then the loss and the SGD update; see {@link LayerBenchmark}.
 * Each iteration runs the unit's forward, then its backward, timing them separately. The first
 * unit computes no input gradient, as in a training step.
 */
export async function benchmarkLayers(options: BenchmarkOptions): Promise<LayersBenchmark> {
  const r = resolve(options);
  return withMathMode(r, async () => {
    const model = buildModel(r);
    const rows: LayerBenchmark[] = [];
    try {
      model.train();
      let shape = [r.batchSize, model.config.inChannels, model.config.inputSize, model.config.inputSize];
      const units = layerUnits(model);
      for (const [index, unit] of units.entries()) {
        // A Flatten left out between units still reshapes: give the next unit the shape it expects.
        if (unit.modules[0] instanceof Linear && shape.length > 2) shape = new Flatten().outputShape(shape);
        const runner = unit.modules.length === 1 ? unit.modules[0]! : new Sequential(...unit.modules);
        const outputShape = runner.outputShape(shape);
        const input = randomLike(shape, 10 + index, r.backend);
        const gradOutput = randomLike(outputShape, 1000 + index, r.backend);
        const inputGrad = index > 0;
        const forward: number[] = [];
        const backward: number[] = [];
        drain(r.backend);
        for (let i = 0; i < r.warmup + r.iterations; i++) {
          let output: Tensor | undefined;
          const f = timeOnce(r.backend, () => (output = runner.forward(input)));
          output!.dispose();
          const b = timeOnce(r.backend, () => runner.backward(gradOutput, { inputGrad })?.dispose());
          if (i >= r.warmup) {
            forward.push(f);
            backward.push(b);
          }
        }
        runner.clearSaved();
        input.dispose();
        gradOutput.dispose();
        rows.push({
          name: unit.name,
          layers: unit.modules.map((m) => m.kind).join('+'),
          inputShape: shape,
          outputShape,
          forward: summarize(forward),
          backward: summarize(backward),
        });
        shape = outputShape;
        await yieldToEventLoop();
      }
      rows.push(await lossRow(r, shape));
      rows.push(await sgdRow(r, model));
      return { preset: r.preset, batchSize: r.batchSize, backend: r.backend.kind, mathMode: r.mathMode, rows };
    } finally {
      model.dispose();
    }
  });
}

async function lossRow(r: Resolved, logitsShape: number[]): Promise<LayerBenchmark> {
  const logits = randomLike(logitsShape, 3, r.backend);
  const labels = labelsFor(logitsShape[0]!, logitsShape[1]!, r.backend);
  try {
    const forward = await sample(r, () => {
      const { loss, gradLogits } = softmaxCrossEntropy(logits, labels, { withGrad: true });
      loss.dispose();
      gradLogits!.dispose();
    });
    return { name: 'loss', layers: 'SoftmaxCrossEntropy', inputShape: logitsShape, outputShape: [1], forward, backward: null };
  } finally {
    logits.dispose();
    labels.dispose();
  }
}

async function sgdRow(r: Resolved, model: AlexNet): Promise<LayerBenchmark> {
  const params = allParameters(model);
  params.forEach((p, i) => {
    const g = randomLike(p.value.shape, 5000 + i, r.backend);
    const target = p.gradTarget;
    if (!target) return p.setGrad(g);
    // Into the flat gradient buffer, where backward writes it: the update then runs as in training (one pass).
    callNative(() => r.backend.native.copy(target.handle, g.handle));
    g.dispose();
    p.receiveGrad(target);
  });
  const optimizer = new SGD(params, BENCHMARK_SGD);
  try {
    const forward = await sample(r, () => optimizer.step());
    const count = params.reduce((n, p) => n + p.value.size, 0);
    return { name: 'sgd', layers: 'SGD', inputShape: [count], outputShape: [count], forward, backward: null };
  } finally {
    optimizer.dispose();
  }
}
