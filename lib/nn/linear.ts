/**
 * Fully connected layer (PyTorch's Linear: weight [out, in], y = x · weightᵀ + bias).
 * @module
 */
import { getBackend, type Backend, type BackendChoice } from '../backend/backend';
import { options as checkOptions, positiveInt } from '../validate';
import {
  linear,
  linearBackwardData,
  linearBackwardDataRelu,
  linearBackwardWeight,
  linearOutputShape,
  linearReluWithMask,
} from '../ops/linear';
import { deriveSeed, nextSeed } from '../random';
import { seedValue } from '../validate';
import { Tensor, type Seed } from '../tensor';
import { Module, Parameter, SavedTensors, requireRank, type BackwardOptions } from './module';

/** Options of {@link Linear}. */
export interface LinearConfig {
  /** Features per input row (the input is [N, inFeatures]). */
  inFeatures: number;
  /** Features per output row (the output is [N, outFeatures]). */
  outFeatures: number;
  /** Whether to add a learned bias. Default true. */
  bias?: boolean;
  /** Where the parameters live (default: the process default backend). */
  backend?: Backend | BackendChoice;
  /** Seed for PyTorch's default initialization; default: the next process-wide seed. */
  seed?: Seed;
}

/**
 * Fully connected layer, y = x · weightᵀ + bias, with PyTorch's layout and default initialization.
 * The constructor throws a TypeError or RangeError naming a bad option.
 */
export class Linear extends Module {
  /** Input features. */
  readonly inFeatures: number;
  /** Output features. */
  readonly outFeatures: number;
  /** Weights [outFeatures, inFeatures]. */
  readonly weight: Parameter;
  /** Bias [outFeatures], or null when built with `bias: false`. */
  readonly bias: Parameter | null;
  readonly #saved = new SavedTensors();

  constructor(config: LinearConfig) {
    super();
    if (config === null || typeof config !== 'object') throw new TypeError('Linear: config must be an object');
    checkOptions(config, ['inFeatures', 'outFeatures', 'bias', 'backend', 'seed'], 'Linear config');
    this.inFeatures = positiveInt(config.inFeatures, 'Linear: inFeatures');
    this.outFeatures = positiveInt(config.outFeatures, 'Linear: outFeatures');
    const backend = getBackend(config.backend);
    this.weight = new Parameter('weight', Tensor.empty([this.outFeatures, this.inFeatures], { backend }));
    this.bias = config.bias === false ? null : new Parameter('bias', Tensor.empty([this.outFeatures], { backend }));
    this.resetParameters(seedValue(config.seed ?? nextSeed(), 'Linear: seed'));
  }

  /** Inputs to each output (inFeatures), for initialization schemes. */
  get fanIn(): number {
    return this.inFeatures;
  }

  /** Outputs each input feeds (outFeatures), for initialization schemes. */
  get fanOut(): number {
    return this.outFeatures;
  }

  /** PyTorch's default: weight and bias uniform in ±1/sqrt(inFeatures). */
  resetParameters(seed: Seed): void {
    const bound = 1 / Math.sqrt(this.inFeatures);
    const backend = this.weight.value.backend;
    this.weight.set(Tensor.uniform(this.weight.value.shape, { low: -bound, high: bound, seed: deriveSeed(seed, 0) }, { backend }));
    this.bias?.set(Tensor.uniform([this.outFeatures], { low: -bound, high: bound, seed: deriveSeed(seed, 1) }, { backend }));
  }

  override outputShape(inputShape: readonly number[]): number[] {
    requireRank('Linear', inputShape, 2, '[N, inFeatures]');
    return linearOutputShape(inputShape, this.weight.value.shape, 'Linear');
  }

  /** [N, outFeatures] from a float32 [N, inFeatures] batch; in training mode keeps the input for backward. */
  override forward(input: Tensor): Tensor<'float32'> {
    return this.forwardFused(input, false);
  }

  /** Forward with an optional fused ReLU (Sequential uses it when a ReLU follows). */
  forwardFused(input: Tensor, relu: boolean): Tensor<'float32'> {
    const y = linear(input, this.weight.value, this.bias?.value ?? null, { relu });
    if (this.training) {
      this.#saved.clear();
      this.#saved.save(input);
    }
    return y;
  }

  /**
   * @internal Forward with bias and ReLU that also returns the ReLU's mask, for the epilogue pair
   * (Sequential, with {@link setLinearEpilogues}); needs a bias.
   */
  forwardReluMask(input: Tensor): { output: Tensor<'float32'>; mask: Tensor<'int32'> } {
    if (!this.bias) throw new TypeError('Linear.forwardReluMask: the layer has no bias');
    const result = linearReluWithMask(input, this.weight.value, this.bias.value);
    if (this.training) {
      this.#saved.clear();
      this.#saved.save(input);
    }
    return result;
  }

  /**
   * Sets `weight.grad` (and `bias.grad`) from `gradOutput` [N, outFeatures] and returns the input's
   * gradient [N, inFeatures], or null when `inputGrad` is false. Frozen parameters (`requiresGrad`
   * false) get no gradient.
   */
  override backward(gradOutput: Tensor, options: BackwardOptions = {}): Tensor<'float32'> | null {
    return this.#backward(gradOutput, options.inputGrad !== false, null, false);
  }

  /**
   * @internal Backward of this layer when a ReLU with `mask` and the Linear `previous` (which made
   * the mask) come before it: this layer's gradients as usual, then the gradient of `previous`'s
   * pre-activation through the mask with `previous`'s bias gradient in the same product (cuBLASLt's
   * DRELU_BGRAD epilogue). Returns that gradient; finish with `previous.backward(it, ..., true)`.
   */
  backwardThroughRelu(gradOutput: Tensor, mask: Tensor, previous: Linear): Tensor<'float32'> {
    return this.#backward(gradOutput, true, { mask, previous }, false)!;
  }

  /** @internal Backward whose bias gradient an epilogue has set already (see backwardThroughRelu). */
  backwardBiasDone(gradOutput: Tensor, inputGrad: boolean): Tensor<'float32'> | null {
    return this.#backward(gradOutput, inputGrad, null, true);
  }

  #backward(
    gradOutput: Tensor,
    inputGrad: boolean,
    relu: { mask: Tensor; previous: Linear } | null,
    biasDone: boolean,
  ): Tensor<'float32'> | null {
    const [input] = this.#saved.take();
    if (!input) throw new Error('Linear.backward: call forward in training mode first');
    try {
      const wantWeight = this.weight.requiresGrad;
      const wantBias = this.bias !== null && !biasDone && this.bias.requiresGrad;
      // Frozen parameters get no gradient work. The op computes the bias gradient only beside the
      // weight's: a frozen weight with a trainable bias still costs the weight product (discarded).
      if (wantWeight || wantBias) {
        const { gradWeight, gradBias } = linearBackwardWeight(input, gradOutput, {
          bias: wantBias,
          into: { gradWeight: wantWeight ? this.weight.gradTarget : null, gradBias: wantBias ? this.bias.gradTarget : null },
        });
        if (wantWeight) this.weight.receiveGrad(gradWeight);
        else gradWeight.dispose();
        if (gradBias) this.bias!.receiveGrad(gradBias);
      }
      if (relu) {
        // The epilogue yields the previous layer's bias gradient with the data gradient; a frozen bias discards it.
        const previousBias = relu.previous.bias!;
        const trainable = previousBias.requiresGrad;
        const { gradInput, gradBias: masked } = linearBackwardDataRelu(
          gradOutput,
          this.weight.value,
          relu.mask,
          trainable ? previousBias.gradTarget : null,
        );
        if (trainable) previousBias.receiveGrad(masked);
        else masked.dispose();
        return gradInput;
      }
      return inputGrad ? linearBackwardData(gradOutput, this.weight.value) : null;
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
