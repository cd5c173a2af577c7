/**
 * One training step, as the Trainer runs it and the benchmark times it (plainly, or captured into a
 * graph and replayed: {@link TrainStepper}), the inference forward likewise ({@link InferenceRunner}),
 * and the bound on how far the host runs ahead of the device.
 * @module
 */
import type { AlexNet } from '../models/alexnet';
import { linearEpilogues } from '../nn/epilogues';
import { requiresGradKey } from '../nn/freeze';
import type { Dropout } from '../nn/dropout';
import { softmaxCrossEntropy } from '../ops/loss';
import type { Optimizer } from '../optim/optimizer';
import type { Tensor } from '../tensor';
import { dropoutLayers } from './resume';
import { nativeGraphs, StepCapture, type CapturableStep, type GraphFactory } from './stepCapture';

const ids = new WeakMap<object, number>();
let nextId = 1;
/** A number naming an object for as long as it lives (structure keys compare them). */
function idOf(object: object): number {
  let id = ids.get(object);
  if (id === undefined) {
    id = nextId++;
    ids.set(object, id);
  }
  return id;
}

/** What besides the parameters decides the recorded work: the backend's modes and the epilogue switch. */
function modeKey(model: AlexNet): string {
  const backend = model.backend;
  return `${backend.kind}:${backend.mathMode}:${backend.deterministic ? 'det' : 'any'}:${linearEpilogues() ? 'epi' : 'plain'}`;
}

/**
 * Forward in the model's current mode, fused softmax cross-entropy (mean) with its gradient,
 * backward through every layer (no gradient for the input images), and the optimizer's update.
 * Everything is queued; returns the logits and the loss (the caller disposes both).
 */
export function trainStep(model: AlexNet, optimizer: Optimizer, input: Tensor, labels: Tensor): { logits: Tensor; loss: Tensor } {
  const logits = model.forward(input);
  let loss: Tensor | null = null;
  try {
    const result = softmaxCrossEntropy(logits, labels, { withGrad: true });
    loss = result.loss;
    try {
      model.backward(result.gradLogits!);
    } finally {
      result.gradLogits!.dispose();
    }
    optimizer.step();
    return { logits, loss };
  } catch (error) {
    // A step that failed half-way must not leave activations behind for the next one to trip on.
    model.clearSaved();
    logits.dispose();
    loss?.dispose();
    throw error;
  }
}

/** The training step as a {@link CapturableStep}: inputs [images, labels], outputs logits and loss. */
export class TrainStepProgram implements CapturableStep<{ logits: Tensor; loss: Tensor }> {
  readonly #dropouts: Dropout[];

  constructor(
    /** The model trained (its parameters must be its flat buffers for the step to be captured). */
    readonly model: AlexNet,
    /** The optimizer (updating the model's flat buffers in one pass). */
    readonly optimizer: Optimizer,
  ) {
    this.#dropouts = dropoutLayers(model).map(([, d]) => d);
  }

  structureKey(): string | null {
    const { model, optimizer } = this;
    // A graph holds raw addresses: only parameters that never move (the flat buffers) can be
    // captured, and only with the optimizer's runs (its slices, state and scalars) it was captured with.
    if (!optimizer.flat || optimizer.flat !== model.flat) return null;
    const layout = optimizer.layoutKey();
    if (layout === null) return null;
    // Which parameters are frozen decides which gradient work was recorded: freezing or unfreezing
    // after a capture makes a new structure (the old graphs are disposed, the new one captured).
    return `train:${idOf(model.flat)}:${idOf(optimizer)}:${layout}:${model.training}:${modeKey(model)}:${requiresGradKey(model.flat.parameters)}`;
  }

  prepare(): void {
    this.optimizer.syncScalars();
    const backend = this.model.backend;
    for (const d of this.#dropouts) d.syncScalars(backend);
  }

  run([images, labels]: readonly Tensor[]): { logits: Tensor; loss: Tensor } {
    return trainStep(this.model, this.optimizer, images!, labels!);
  }

  saveState(): () => void {
    const restoreOptimizer = this.optimizer.saveCounters();
    const offsets = this.#dropouts.map((d) => d.offset);
    return () => {
      restoreOptimizer();
      this.#dropouts.forEach((d, i) => {
        d.offset = offsets[i]!;
        d.invalidateScalars();
      });
    };
  }

  replayEffects(): () => void {
    const elements = this.#dropouts.map((d) => d.lastForwardElements);
    return () => {
      this.optimizer.replayedStep();
      this.#dropouts.forEach((d, i) => {
        if (elements[i]! > 0) d.replayedForward(elements[i]!);
      });
    };
  }
}

/** The inference forward as a {@link CapturableStep}: input [images], output logits (evaluation mode). */
export class InferenceProgram implements CapturableStep<{ logits: Tensor }> {
  constructor(
    /** The model (in evaluation mode for the forward to be captured). */
    readonly model: AlexNet,
  ) {}

  structureKey(): string | null {
    const { model } = this;
    if (model.training) return null; // training-mode forwards keep tensors for a backward pass
    return `infer:${idOf(model.flat)}:${modeKey(model)}`;
  }

  prepare(): void {}

  run([images]: readonly Tensor[]): { logits: Tensor } {
    return { logits: this.model.forward(images!) };
  }

  saveState(): () => void {
    return () => {};
  }

  replayEffects(): () => void {
    return () => {};
  }
}

/** Options of {@link TrainStepper} and {@link InferenceRunner}. */
export interface StepperOptions {
  /** Capture and replay graphs (default true; ALEXNET_CUDA_GRAPHS=0 turns them off everywhere). */
  graphs?: boolean;
  /** Plain calls before the capture, the pool warm-up included; default 2. */
  warmup?: number;
  /** Where the one line about a failed capture goes (default stderr). */
  log?: (line: string) => void;
  /** @internal Another graph factory (tests). */
  graphFactory?: GraphFactory;
}

function captureOptions(model: AlexNet, options: StepperOptions) {
  return {
    graphs: options.graphs === false ? null : (options.graphFactory ?? nativeGraphs(model.backend)),
    ...(options.warmup !== undefined ? { warmup: options.warmup } : {}),
    ...(options.log ? { log: options.log } : {}),
  };
}

/**
 * Training steps as the Trainer and the benchmark run them: plainly at first, then captured into a
 * graph per batch shape and replayed (lib/training/stepCapture.ts). The results are the same as
 * {@link trainStep}'s, step for step.
 */
export class TrainStepper {
  /** The capture logic (its phase per shape, for reports and tests). */
  readonly capture: StepCapture<{ logits: Tensor; loss: Tensor }>;

  constructor(model: AlexNet, optimizer: Optimizer, options: StepperOptions = {}) {
    this.capture = new StepCapture(new TrainStepProgram(model, optimizer), captureOptions(model, options));
  }

  /** One step on a batch; returns the logits and the mean loss, new tensors the caller disposes. */
  step(images: Tensor, labels: Tensor): { logits: Tensor; loss: Tensor } {
    return this.capture.run([images, labels]);
  }

  /** Frees the graphs and their memory. */
  dispose(): void {
    this.capture.dispose();
  }
}

/** Inference forwards (evaluation mode), captured and replayed per batch shape as {@link TrainStepper} does. */
export class InferenceRunner {
  /** The capture logic. */
  readonly capture: StepCapture<{ logits: Tensor }>;

  constructor(model: AlexNet, options: StepperOptions = {}) {
    this.capture = new StepCapture(new InferenceProgram(model), captureOptions(model, options));
  }

  /** The logits for a batch (the model must be in evaluation mode to be captured); the caller disposes them. */
  forward(images: Tensor): Tensor {
    return this.capture.run([images]).logits;
  }

  /** Frees the graphs and their memory. */
  dispose(): void {
    this.capture.dispose();
  }
}

/** Bounds how far the host runs ahead of the device: at most `depth` steps queued. */
export class StepWindow {
  readonly #fences: Promise<void>[] = [];
  constructor(readonly depth: number) {}

  /**
   * Call after queueing a step: waits (without blocking) while more than `depth` steps are queued.
   * `onFinished` is called when the step has actually run on the device (for timing).
   */
  async after(model: AlexNet, onFinished?: () => void): Promise<void> {
    const fence = model.backend.synchronize();
    // Awaited below or in drain(); this also marks early failures as handled. onFinished must not throw.
    fence
      .then(
        () => onFinished?.(),
        () => {},
      )
      .catch(() => {});
    this.#fences.push(fence);
    while (this.#fences.length > this.depth) await this.#fences.shift();
  }

  /** Waits for every queued step. */
  async drain(): Promise<void> {
    while (this.#fences.length > 0) await this.#fences.shift();
  }
}
