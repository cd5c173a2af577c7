/**
 * 2-D convolution layer (PyTorch's Conv2d semantics and weight layout [out, in/groups, kh, kw]).
 * @module
 */
import { getBackend, type Backend, type BackendChoice } from '../backend/backend';
import {
  checkPaddingFits,
  conv2d,
  conv2dBackwardData,
  conv2dBackwardFilter,
  conv2dOutputShape,
  convGeometry,
  type Padding2d,
} from '../ops/conv2d';
import { options as checkOptions, pairOf, positiveInt } from '../validate';
import { deriveSeed, nextSeed } from '../random';
import { seedValue } from '../validate';
import { checkTensor, Tensor, type Seed } from '../tensor';
import { Module, Parameter, SavedTensors, requireRank, type BackwardOptions } from './module';

/** Options of {@link Conv2d}. */
export interface Conv2dConfig {
  /** Channels C of the [N, C, H, W] input; divisible by `groups`. */
  inChannels: number;
  /** Output channels (filters); divisible by `groups`. */
  outChannels: number;
  /** Kernel size: one number for a square kernel, or [height, width]. */
  kernelSize: number | [number, number];
  /** Stride: one number, or [height, width]. Default 1. */
  stride?: number | [number, number];
  /**
   * Zero padding: a number, [height, width], explicit sides {top, bottom, left, right}, or
   * TensorFlow's 'same' (output = ceil(input / stride), the extra row/column at the bottom/right)
   * and 'valid' (none). Default 0.
   */
  padding?: Padding2d | 'same' | 'valid';
  /** Channel groups: each output channel sees inChannels / groups inputs (the paper's two-GPU split is 2). Default 1. */
  groups?: number;
  /** Whether to add a learned bias per output channel. Default true. */
  bias?: boolean;
  /** Where the parameters live (default: the process default backend). */
  backend?: Backend | BackendChoice;
  /** Seed for PyTorch's default initialization; default: the next process-wide seed. */
  seed?: Seed;
}

/** TensorFlow's SAME padding for one dimension: total = max((ceil(in/s) - 1) * s + k - in, 0). */
function samePadding(input: number, kernel: number, stride: number): [number, number] {
  const out = Math.ceil(input / stride);
  const total = Math.max((out - 1) * stride + kernel - input, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/**
 * 2-D convolution (cross-correlation) of NCHW float32 batches, with PyTorch's semantics, weight layout
 * and default initialization. The constructor throws a TypeError or RangeError naming a bad option.
 */
export class Conv2d extends Module {
  /** Input channels. */
  readonly inChannels: number;
  /** Output channels. */
  readonly outChannels: number;
  /** Kernel [height, width]. */
  readonly kernelSize: [number, number];
  /** Stride [height, width]. */
  readonly stride: [number, number];
  /** The padding as configured; {@link Conv2d.paddingFor} resolves it for an input size. */
  readonly padding: Padding2d | 'same' | 'valid';
  /** Channel groups. */
  readonly groups: number;
  /** Weights [outChannels, inChannels / groups, kh, kw]. */
  readonly weight: Parameter;
  /** Bias [outChannels], or null when built with `bias: false`. */
  readonly bias: Parameter | null;
  readonly #saved = new SavedTensors();
  #inputShape: number[] = [];

  constructor(config: Conv2dConfig) {
    super();
    if (config === null || typeof config !== 'object') throw new TypeError('Conv2d: config must be an object');
    checkOptions(
      config,
      ['inChannels', 'outChannels', 'kernelSize', 'stride', 'padding', 'groups', 'bias', 'backend', 'seed'],
      'Conv2d config',
    );
    this.inChannels = positiveInt(config.inChannels, 'Conv2d: inChannels');
    this.outChannels = positiveInt(config.outChannels, 'Conv2d: outChannels');
    this.kernelSize = pairOf(config.kernelSize, 'Conv2d: kernelSize', positiveInt);
    this.stride = pairOf(config.stride ?? 1, 'Conv2d: stride', positiveInt);
    this.groups = positiveInt(config.groups ?? 1, 'Conv2d: groups');
    if (this.inChannels % this.groups || this.outChannels % this.groups) {
      throw new RangeError(
        `Conv2d: inChannels (${this.inChannels}) and outChannels (${this.outChannels}) must be divisible by groups (${this.groups})`,
      );
    }
    this.padding = config.padding ?? 0;
    if (this.padding !== 'same' && this.padding !== 'valid')
      checkPaddingFits(convGeometry({ padding: this.padding }), this.kernelSize, 'Conv2d');
    const backend = getBackend(config.backend);
    const shape = [this.outChannels, this.inChannels / this.groups, ...this.kernelSize];
    this.weight = new Parameter('weight', Tensor.empty(shape, { backend }));
    this.bias = config.bias === false ? null : new Parameter('bias', Tensor.empty([this.outChannels], { backend }));
    this.resetParameters(seedValue(config.seed ?? nextSeed(), 'Conv2d: seed'));
  }

  /** Inputs to each output (in/groups * kh * kw), as PyTorch computes fan-in. */
  get fanIn(): number {
    return (this.inChannels / this.groups) * this.kernelSize[0] * this.kernelSize[1];
  }

  /** Outputs each input feeds (out * kh * kw), as PyTorch computes fan-out. */
  get fanOut(): number {
    return this.outChannels * this.kernelSize[0] * this.kernelSize[1];
  }

  /** PyTorch's default: weight and bias uniform in ±1/sqrt(fanIn) (kaiming_uniform with a = sqrt(5)). */
  resetParameters(seed: Seed): void {
    const bound = 1 / Math.sqrt(this.fanIn);
    const backend = this.weight.value.backend;
    this.weight.set(Tensor.uniform(this.weight.value.shape, { low: -bound, high: bound, seed: deriveSeed(seed, 0) }, { backend }));
    this.bias?.set(Tensor.uniform([this.outChannels], { low: -bound, high: bound, seed: deriveSeed(seed, 1) }, { backend }));
  }

  /** The padding for an input of this height and width, as explicit sides. */
  paddingFor(
    height: number,
    width: number,
  ): {
    /** Zero rows above the input. */
    top: number;
    /** Zero rows below the input. */
    bottom: number;
    /** Zero columns left of the input. */
    left: number;
    /** Zero columns right of the input. */
    right: number;
  } {
    if (this.padding === 'valid') return { top: 0, bottom: 0, left: 0, right: 0 };
    if (this.padding === 'same') {
      const [top, bottom] = samePadding(height, this.kernelSize[0], this.stride[0]);
      const [left, right] = samePadding(width, this.kernelSize[1], this.stride[1]);
      return { top, bottom, left, right };
    }
    const g = convGeometry({ padding: this.padding });
    return { top: g.padTop, bottom: g.padBottom, left: g.padLeft, right: g.padRight };
  }

  override outputShape(inputShape: readonly number[]): number[] {
    requireRank('Conv2d', inputShape, 4, '[N, C, H, W]');
    return conv2dOutputShape(inputShape, this.weight.value.shape, this.#options(inputShape), 'Conv2d');
  }

  #options(shape: readonly number[]) {
    return { stride: this.stride, padding: this.paddingFor(shape[2]!, shape[3]!), groups: this.groups };
  }

  /**
   * Convolves a float32 [N, inChannels, H, W] batch into [N, outChannels, OH, OW] (see
   * {@link Conv2d.outputShape}); in training mode keeps the input for backward.
   */
  override forward(input: Tensor): Tensor<'float32'> {
    return this.forwardFused(input, false);
  }

  /** Forward with an optional fused ReLU (Sequential uses it when a ReLU follows). */
  forwardFused(input: Tensor, relu: boolean): Tensor<'float32'> {
    checkTensor(input, 'Conv2d: input'); // before #options reads its shape
    const y = conv2d(input, this.weight.value, this.bias?.value ?? null, { ...this.#options(input.shape), relu });
    if (this.training) {
      this.#saved.clear();
      this.#saved.save(input);
      this.#inputShape = [...input.shape];
    }
    return y;
  }

  /**
   * Sets `weight.grad` (and `bias.grad`) from `gradOutput` [N, outChannels, OH, OW] and returns the
   * input's gradient [N, inChannels, H, W], or null when `inputGrad` is false. Frozen parameters
   * (`requiresGrad` false) get no gradient.
   */
  override backward(gradOutput: Tensor, options: BackwardOptions = {}): Tensor<'float32'> | null {
    const [input] = this.#saved.take();
    if (!input) throw new Error('Conv2d.backward: call forward in training mode first');
    try {
      const opts = this.#options(this.#inputShape);
      const wantWeight = this.weight.requiresGrad;
      const wantBias = this.bias !== null && this.bias.requiresGrad;
      // Frozen parameters get no gradient work. The op computes the bias gradient only beside the
      // weight's: a frozen weight with a trainable bias still costs the weight product (discarded).
      if (wantWeight || wantBias) {
        const { gradWeight, gradBias } = conv2dBackwardFilter(input, gradOutput, this.weight.value.shape, {
          ...opts,
          bias: wantBias,
          into: { gradWeight: wantWeight ? this.weight.gradTarget : null, gradBias: wantBias ? this.bias.gradTarget : null },
        });
        if (wantWeight) this.weight.receiveGrad(gradWeight);
        else gradWeight.dispose();
        if (gradBias) this.bias!.receiveGrad(gradBias);
      }
      return options.inputGrad === false ? null : conv2dBackwardData(gradOutput, this.weight.value, this.#inputShape, opts);
    } finally {
      input.dispose();
    }
  }

  override parameters(): Parameter[] {
    return this.bias ? [this.weight, this.bias] : [this.weight];
  }

  override clearSaved(): void {
    this.#saved.clear();
  }
}
