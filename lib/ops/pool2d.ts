/**
 * Max pooling (floor mode, symmetric padding, as PyTorch's MaxPool2d) and adaptive average
 * pooling (PyTorch's AdaptiveAvgPool2d windows), with their backward passes.
 * @module
 */
import type { NativePoolGeometry } from '../backend/native';
import { Tensor } from '../tensor';
import { bfloat16Output } from './bfloat16';
import { native, nativeShape, sameBackend, wrap } from './common';
import { nonNegativeInt, options as checkOptions, pairOf, positiveInt } from '../validate';

/** Window geometry of {@link maxPool2d} and {@link maxPool2dBackward} (and the MaxPool2d layer). */
export interface MaxPool2dOptions {
  /** Window size, one number or [height, width]. */
  kernelSize: number | [number, number];
  /** Default: the kernel size (non-overlapping). AlexNet overlaps: kernel 3, stride 2. */
  stride?: number | [number, number];
  /** Zero-size padding (the padded border never wins); at most half the kernel. Default 0. */
  padding?: number | [number, number];
}

/** @internal */
export function poolGeometry(options: MaxPool2dOptions): NativePoolGeometry {
  if (options === null || typeof options !== 'object') throw new TypeError('maxPool2d options must be an object');
  checkOptions(options, ['kernelSize', 'stride', 'padding'], 'maxPool2d options');
  const [kernelH, kernelW] = pairOf(options.kernelSize, 'kernelSize', positiveInt);
  const [strideH, strideW] = pairOf(options.stride ?? options.kernelSize, 'stride', positiveInt);
  const [padH, padW] = pairOf(options.padding ?? 0, 'padding', nonNegativeInt);
  if (2 * padH > kernelH || 2 * padW > kernelW) {
    throw new RangeError(
      `padding must be at most half the kernel size, got padding [${padH}, ${padW}] for kernel [${kernelH}, ${kernelW}]`,
    );
  }
  return { kernelH, kernelW, strideH, strideW, padH, padW };
}

/**
 * The maximum of each window of a float32 [N, C, H, W] tensor: [N, C, OH, OW] with
 * OH = floor((H + 2 * padH - kernelH) / strideH) + 1 (likewise OW). The caller disposes the result.
 */
export function maxPool2d(input: Tensor, options: MaxPool2dOptions): Tensor<'float32'> {
  const backend = sameBackend('maxPool2d', { input });
  const g = poolGeometry(options);
  return bfloat16Output(
    backend,
    wrap(
      backend,
      native(() => backend.native.maxPool2dForward(input.handle, g)),
    ),
  );
}

/** Gradient with respect to the input: each window's gradient goes to its first maximum. */
export function maxPool2dBackward(input: Tensor, output: Tensor, gradOutput: Tensor, options: MaxPool2dOptions): Tensor<'float32'> {
  const backend = sameBackend('maxPool2dBackward', { input, output, gradOutput });
  const g = poolGeometry(options);
  return bfloat16Output(
    backend,
    wrap(
      backend,
      native(() => backend.native.maxPool2dBackward(input.handle, output.handle, gradOutput.handle, g)),
    ),
  );
}

/**
 * Averages a float32 [N, C, H, W] tensor into [N, C, outH, outW] with PyTorch's adaptive windows
 * (output row i averages input rows [floor(i * H / outH), ceil((i + 1) * H / outH)), columns
 * likewise). The caller disposes the result.
 */
export function adaptiveAvgPool2d(input: Tensor, outputSize: number | [number, number]): Tensor<'float32'> {
  const backend = sameBackend('adaptiveAvgPool2d', { input });
  const [h, w] = pairOf(outputSize, 'outputSize', positiveInt);
  return bfloat16Output(
    backend,
    wrap(
      backend,
      native(() => backend.native.adaptiveAvgPool2dForward(input.handle, h, w)),
    ),
  );
}

/** Gradient with respect to the input (of shape `inputShape`): each output's gradient spread evenly over its window. */
export function adaptiveAvgPool2dBackward(gradOutput: Tensor, inputShape: readonly number[]): Tensor<'float32'> {
  const backend = sameBackend('adaptiveAvgPool2dBackward', { gradOutput });
  return bfloat16Output(
    backend,
    wrap(
      backend,
      native(() => backend.native.adaptiveAvgPool2dBackward(gradOutput.handle, inputShape)),
    ),
  );
}

/** The output shape of {@link maxPool2d} for an input shape (a RangeError when the window does not fit, naming `who`). */
export function maxPool2dOutputShape(inputShape: readonly number[], options: MaxPool2dOptions, who = 'maxPool2d'): number[] {
  const g = poolGeometry(options);
  return nativeShape(who, (addon) => addon.pool2dOutputShape(inputShape, g));
}
