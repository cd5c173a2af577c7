/**
 * 2-D convolution (cross-correlation, as PyTorch's conv2d) with stride, zero padding that may
 * differ per side, groups and bias, and its two backward passes.
 * @module
 */
import type { NativeConvGeometry } from '../backend/native';
import { Tensor } from '../tensor';
import { describe, options as checkOptions } from '../validate';
import { bfloat16Output, withBfloat16Operands } from './bfloat16';
import { native, nativeShape, sameBackend, wrap } from './common';
import { nonNegativeInt, pairOf, positiveInt } from '../validate';

/**
 * Zero padding: one number for every side, `[height, width]`, or explicit sides
 * `{ top, bottom, left, right }` (Keras' ZeroPadding2D((1, 2), (1, 2)) is `{ top: 1, bottom: 2, left: 1, right: 2 }`).
 */
export type Padding2d =
  | number
  | [number, number]
  | {
      /** Zero rows above the input. */
      top: number;
      /** Zero rows below the input. */
      bottom: number;
      /** Zero columns left of the input. */
      left: number;
      /** Zero columns right of the input. */
      right: number;
    };

/** Geometry of {@link conv2d} and its backward passes; every one of them must get the same options. */
export interface Conv2dOptions {
  /** Stride, one number or [height, width]; default 1. */
  stride?: number | [number, number];
  /** Zero padding; default 0. */
  padding?: Padding2d;
  /** Channel groups (AlexNet's two-GPU split is groups = 2); default 1. */
  groups?: number;
}

/** @internal Normalizes conv options into the native geometry, naming bad parameters. */
export function convGeometry(options: Conv2dOptions = {}): NativeConvGeometry {
  if (options === null || typeof options !== 'object') throw new TypeError(`conv2d options must be an object, got ${describe(options)}`);
  const [strideH, strideW] = pairOf(options.stride ?? 1, 'stride', positiveInt);
  const padding = options.padding ?? 0;
  let sides: [number, number, number, number];
  if (typeof padding === 'object' && !Array.isArray(padding) && padding !== null) {
    sides = [
      nonNegativeInt(padding.top, 'padding.top'),
      nonNegativeInt(padding.bottom, 'padding.bottom'),
      nonNegativeInt(padding.left, 'padding.left'),
      nonNegativeInt(padding.right, 'padding.right'),
    ];
  } else if (typeof padding === 'number' || Array.isArray(padding)) {
    const [ph, pw] = pairOf(padding, 'padding', nonNegativeInt);
    sides = [ph, ph, pw, pw];
  } else {
    throw new TypeError(`padding must be a number, [height, width] or {top, bottom, left, right}, got ${describe(padding)}`);
  }
  return {
    strideH,
    strideW,
    padTop: sides[0],
    padBottom: sides[1],
    padLeft: sides[2],
    padRight: sides[3],
    groups: positiveInt(options.groups ?? 1, 'groups'),
  };
}

/**
 * @internal Checks each padding side against the kernel: padding of a kernel's size or more only
 * adds outputs that see nothing but zeros, and an unbounded one (3000 on an 8x8 input) turns a
 * tiny convolution into minutes of work. `kernel` is [height, width].
 */
export function checkPaddingFits(g: NativeConvGeometry, kernel: readonly number[], op: string): void {
  const [kh, kw] = kernel as [number, number];
  const sides = [
    ['top', g.padTop, kh, 'height'],
    ['bottom', g.padBottom, kh, 'height'],
    ['left', g.padLeft, kw, 'width'],
    ['right', g.padRight, kw, 'width'],
  ] as const;
  for (const [side, pad, k, dim] of sides) {
    if (Number.isInteger(k) && k > 0 && pad >= k) {
      throw new RangeError(`${op}: padding (${side}) must be less than the kernel ${dim} ${k}, got ${pad}`);
    }
  }
}

/** y = conv2d(x, weight) + bias, then ReLU when `relu` (fused on backends that can). */
export function conv2d(
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  options: Conv2dOptions & { relu?: boolean } = {},
): Tensor<'float32'> {
  const backend = sameBackend('conv2d', { input, weight }, { bias });
  checkOptions(options, ['stride', 'padding', 'groups', 'relu'], 'conv2d options');
  const g = convGeometry(options);
  checkPaddingFits(g, weight.shape.slice(2), 'conv2d');
  const y = withBfloat16Operands(backend, [input, weight, bias] as const, (x, w, b) =>
    wrap(
      backend,
      native(() => backend.native.conv2dForward(x.handle, w.handle, b?.handle ?? null, g, options.relu === true)),
    ),
  );
  return bfloat16Output(backend, y);
}

/** Gradient of conv2d with respect to its input, of shape `inputShape`. */
export function conv2dBackwardData(
  gradOutput: Tensor,
  weight: Tensor,
  inputShape: readonly number[],
  options: Conv2dOptions = {},
): Tensor<'float32'> {
  const backend = sameBackend('conv2dBackwardData', { gradOutput, weight });
  checkOptions(options, ['stride', 'padding', 'groups'], 'conv2dBackwardData options');
  const g = convGeometry(options);
  checkPaddingFits(g, weight.shape.slice(2), 'conv2dBackwardData');
  const dx = withBfloat16Operands(backend, [gradOutput, weight] as const, (dy, w) =>
    wrap(
      backend,
      native(() => backend.native.conv2dBackwardData(dy.handle, w.handle, g, inputShape)),
    ),
  );
  return bfloat16Output(backend, dx);
}

/**
 * Gradients of conv2d with respect to its weight (of shape `weightShape`) and, when `bias`, its bias.
 * With `into`, they are written into those tensors (float32 of the gradients' shapes; a layer's
 * views of a flat gradient buffer) and the results are new handles to them.
 */
export function conv2dBackwardFilter(
  input: Tensor,
  gradOutput: Tensor,
  weightShape: readonly number[],
  options: Conv2dOptions & {
    /** Also the bias gradient. */
    bias?: boolean;
    /** Where to write the gradients instead of new tensors. */
    into?: {
      /** Receives dL/dweight. */
      gradWeight?: Tensor | null;
      /** Receives dL/dbias. */
      gradBias?: Tensor | null;
    };
  } = {},
): {
  /** dL/dweight, of shape `weightShape` ([out, in/groups, kh, kw]); the caller disposes it. */
  gradWeight: Tensor<'float32'>;
  /** dL/dbias [out] (gradOutput summed over N, H and W), or null unless `options.bias`; the caller disposes it. */
  gradBias: Tensor<'float32'> | null;
} {
  const into = options.into ?? {};
  const backend = sameBackend(
    'conv2dBackwardFilter',
    { input, gradOutput },
    { 'into.gradWeight': into.gradWeight, 'into.gradBias': into.gradBias },
  );
  checkOptions(options, ['stride', 'padding', 'groups', 'bias', 'into'], 'conv2dBackwardFilter options');
  const g = convGeometry(options);
  if (Array.isArray(weightShape)) checkPaddingFits(g, weightShape.slice(2), 'conv2dBackwardFilter');
  // The gradients are sums over the batch: fp32 (the master gradients) in every math mode.
  const [dw, db] = withBfloat16Operands(backend, [input, gradOutput] as const, (x, dy) =>
    native(() =>
      backend.native.conv2dBackwardFilter(
        x.handle,
        dy.handle,
        g,
        weightShape,
        options.bias === true,
        into.gradWeight?.handle ?? null,
        into.gradBias?.handle ?? null,
      ),
    ),
  );
  return { gradWeight: wrap(backend, dw), gradBias: wrap(backend, db) };
}

/** The output shape of {@link conv2d} for these shapes and options (a RangeError when they do not fit, naming `who`). */
export function conv2dOutputShape(
  inputShape: readonly number[],
  weightShape: readonly number[],
  options: Conv2dOptions = {},
  who = 'conv2d',
): number[] {
  const g = convGeometry(options);
  return nativeShape(who, (addon) => addon.conv2dOutputShape(inputShape, weightShape, g));
}
