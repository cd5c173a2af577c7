/**
 * Pooling layers: MaxPool2d (AlexNet's overlapping 3x3, stride 2 windows) and AdaptiveAvgPool2d
 * (torchvision's pooling to 6x6 before the classifier).
 * @module
 */
import { pairOf, positiveInt } from '../validate';
import {
  adaptiveAvgPool2d,
  adaptiveAvgPool2dBackward,
  maxPool2d,
  maxPool2dBackward,
  maxPool2dOutputShape,
  poolGeometry,
  type MaxPool2dOptions,
} from '../ops/pool2d';
import { checkTensor, Tensor } from '../tensor';
import { Module, SavedTensors, requireRank, type BackwardOptions } from './module';

/**
 * Max pooling over NCHW batches (PyTorch's MaxPool2d, floor mode). The constructor throws a
 * TypeError or RangeError for bad options (e.g. padding over half the kernel).
 */
export class MaxPool2d extends Module {
  /** The window, stride and padding, as given. */
  readonly options: MaxPool2dOptions;
  readonly #saved = new SavedTensors();

  constructor(options: MaxPool2dOptions) {
    super();
    poolGeometry(options);
    this.options = { ...options };
  }

  override outputShape(inputShape: readonly number[]): number[] {
    requireRank('MaxPool2d', inputShape, 4, '[N, C, H, W]');
    return maxPool2dOutputShape(inputShape, this.options, 'MaxPool2d');
  }

  /** The maximum of each window of a float32 [N, C, H, W] input; in training mode keeps input and output for backward. */
  override forward(input: Tensor): Tensor<'float32'> {
    const y = maxPool2d(input, this.options);
    if (this.training) this.#saved.keep(input, y);
    return y;
  }

  /** The input's gradient: each window's gradient goes to its first maximum (null when `inputGrad` is false). */
  override backward(gradOutput: Tensor, options: BackwardOptions = {}): Tensor<'float32'> | null {
    return this.#saved.use('MaxPool2d', 2, ([input, output]) =>
      options.inputGrad === false ? null : maxPool2dBackward(input!, output!, gradOutput, this.options),
    );
  }

  override clearSaved(): void {
    this.#saved.clear();
  }
}

/**
 * Average pooling to a fixed output size whatever the input size (PyTorch's AdaptiveAvgPool2d
 * windows); torchvision's AlexNet pools to 6x6. The constructor throws a TypeError or RangeError
 * unless the size is a positive integer or a pair of them.
 */
export class AdaptiveAvgPool2d extends Module {
  /** Output [height, width]. */
  readonly outputSize: [number, number];
  #inputShape: number[] | null = null;

  constructor(outputSize: number | [number, number]) {
    super();
    this.outputSize = pairOf(outputSize, 'AdaptiveAvgPool2d: outputSize', positiveInt);
  }

  override outputShape(inputShape: readonly number[]): number[] {
    requireRank('AdaptiveAvgPool2d', inputShape, 4, '[N, C, H, W]');
    return [inputShape[0]!, inputShape[1]!, ...this.outputSize];
  }

  /** [N, C, outputSize[0], outputSize[1]] window means of a float32 [N, C, H, W] input. */
  override forward(input: Tensor): Tensor<'float32'> {
    checkTensor(input, 'AdaptiveAvgPool2d: input');
    if (this.training) this.#inputShape = [...input.shape];
    return adaptiveAvgPool2d(input, this.outputSize);
  }

  /** The input's gradient, each output gradient spread evenly over its window (null when `inputGrad` is false). */
  override backward(gradOutput: Tensor, options: BackwardOptions = {}): Tensor<'float32'> | null {
    const shape = this.#inputShape;
    if (!shape) throw new Error('AdaptiveAvgPool2d.backward: call forward in training mode first');
    this.#inputShape = null;
    return options.inputGrad === false ? null : adaptiveAvgPool2dBackward(gradOutput, shape);
  }

  override clearSaved(): void {
    this.#inputShape = null;
  }
}
