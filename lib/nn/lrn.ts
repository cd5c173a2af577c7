/**
 * Cross-channel local response normalization layer.
 *
 * `alpha` follows PyTorch's LocalResponseNorm and cuDNN: it is divided by `size` inside, so
 * y_c = x_c / (k + alpha / size * sum of x^2 over the window) ^ beta. The paper (and TensorFlow)
 * multiply the sum by alpha itself: build from those constants with {@link LocalResponseNorm.fromPaper}.
 * @module
 */
import { checkLrnParams, localResponseNorm, localResponseNormBackward, lrnParamsFromPaper, type LrnParams } from '../ops/lrn';
import { Tensor } from '../tensor';
import { Module, SavedTensors, requireRank, type BackwardOptions } from './module';

/**
 * Cross-channel local response normalization of NCHW batches, with `alpha` in PyTorch's convention
 * (divided by `size`); build from the paper's constants with {@link LocalResponseNorm.fromPaper}.
 * The constructor throws a TypeError or RangeError unless size is odd in [1, 15], alpha >= 0,
 * beta >= 0.01 and k >= 1e-5.
 */
export class LocalResponseNorm extends Module {
  /** The parameters, in PyTorch's convention. */
  readonly params: LrnParams;
  readonly #saved = new SavedTensors();

  /** PyTorch's convention; defaults as torch.nn.LocalResponseNorm (alpha 1e-4, beta 0.75, k 1). */
  constructor(size: number, alpha = 1e-4, beta = 0.75, k = 1) {
    super();
    this.params = { size, alpha, beta, k };
    checkLrnParams(this.params);
  }

  /** From the paper's constants (n, alpha, beta, k), where alpha multiplies the sum of squares directly. */
  static fromPaper({ size, alpha, beta, k }: LrnParams): LocalResponseNorm {
    const p = lrnParamsFromPaper({ size, alpha, beta, k });
    return new LocalResponseNorm(p.size, p.alpha, p.beta, p.k);
  }

  override outputShape(inputShape: readonly number[]): number[] {
    requireRank('LocalResponseNorm', inputShape, 4, '[N, C, H, W]');
    return [...inputShape];
  }

  /**
   * y_c = x_c / (k + alpha / size * sum of x² over `size` neighbouring channels) ^ beta, for a
   * float32 [N, C, H, W] input; in training mode keeps the input and output for backward.
   */
  override forward(input: Tensor): Tensor<'float32'> {
    const y = localResponseNorm(input, this.params);
    if (this.training) this.#saved.keep(input, y);
    return y;
  }

  /** The input's gradient [N, C, H, W] (null when `inputGrad` is false); LRN has no parameters. */
  override backward(gradOutput: Tensor, options: BackwardOptions = {}): Tensor<'float32'> | null {
    return this.#saved.use('LocalResponseNorm', 2, ([input, output]) =>
      options.inputGrad === false ? null : localResponseNormBackward(input!, output!, gradOutput, this.params),
    );
  }

  override clearSaved(): void {
    this.#saved.clear();
  }
}
