/**
 * The native ops check the element type of every tensor they take, naming the op and the parameter:
 * an int32 tensor where float32 is expected is a TypeError, never read as float bits. Called
 * through the addon itself (lib/backend), below the TypeScript ops, so that the native checks are
 * the ones tested; the CPU build runs them here.
 */
import { afterEach, describe, it } from 'vitest';

import { getBackend } from '../../lib/backend/backend';
import type { NativeConvGeometry, NativePoolGeometry, NativeSgdOptions, NativeTensor } from '../../lib/backend/native';
import { expectBackendWorks, expectBadInput } from '../helpers';

const native = getBackend('cpu').native;
const f32 = (...shape: number[]): NativeTensor => new native.Tensor(shape, 'float32').fill(0);
const i32 = (...shape: number[]): NativeTensor => new native.Tensor(shape, 'int32').fill(0);

const conv: NativeConvGeometry = { strideH: 1, strideW: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, groups: 1 };
const pool: NativePoolGeometry = { kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, padH: 0, padW: 0 };
const lrn = { size: 5, alpha: 1e-4, beta: 0.75, k: 2 };
const sgd: NativeSgdOptions = { momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false };
const scalars = i32(4);

const x = f32(1, 2, 4, 4);
const w = f32(3, 2, 3, 3);
const y = f32(1, 3, 2, 2);
const pooled = f32(1, 2, 2, 2);

type Case = [description: string, fn: () => unknown, message: RegExp];

const cases: Case[] = [
  ['multiply: b', () => native.multiply(f32(2, 3), i32(2, 3)), /^multiply: b must be float32, got int32$/],
  ['multiply: a', () => native.multiply(i32(2, 3), f32(2, 3)), /^multiply: a must be float32, got int32$/],
  ['reluBackward: gradOutput', () => native.reluBackward(f32(2, 3), i32(2, 3)), /^reluBackward: gradOutput must be float32, got int32$/],
  [
    'linearBackwardData: weight',
    () => native.linearBackwardData(f32(2, 4), i32(4, 5)),
    /^linearBackwardData: weight must be float32, got int32$/,
  ],
  [
    'linearBackwardWeight: gradOutput',
    () => native.linearBackwardWeight(f32(2, 5), i32(2, 4), true),
    /^linearBackwardWeight: gradOutput must be float32/,
  ],
  [
    'conv2dBackwardData: gradOutput',
    () => native.conv2dBackwardData(i32(1, 3, 2, 2), w, conv, [1, 2, 4, 4]),
    /^conv2dBackwardData: gradOutput must be float32, got int32$/,
  ],
  [
    'conv2dBackwardData: weight',
    () => native.conv2dBackwardData(y, i32(3, 2, 3, 3), conv, [1, 2, 4, 4]),
    /^conv2dBackwardData: weight must be float32, got int32$/,
  ],
  [
    'conv2dBackwardFilter: gradOutput',
    () => native.conv2dBackwardFilter(x, i32(1, 3, 2, 2), conv, [3, 2, 3, 3], true),
    /^conv2dBackwardFilter: gradOutput must be float32, got int32$/,
  ],
  ['conv2dForward: bias', () => native.conv2dForward(x, w, i32(3), conv, false), /^conv2dForward: bias must be float32, got int32$/],
  [
    'maxPool2dBackward: output',
    () => native.maxPool2dBackward(x, i32(1, 2, 2, 2), pooled, pool),
    /^maxPool2dBackward: output must be float32, got int32$/,
  ],
  [
    'maxPool2dBackward: gradOutput',
    () => native.maxPool2dBackward(x, pooled, i32(1, 2, 2, 2), pool),
    /^maxPool2dBackward: gradOutput must be float32, got int32$/,
  ],
  ['lrnBackward: output', () => native.lrnBackward(x, i32(1, 2, 4, 4), x, lrn), /^lrnBackward: output must be float32, got int32$/],
  ['lrnBackward: gradOutput', () => native.lrnBackward(x, x, i32(1, 2, 4, 4), lrn), /^lrnBackward: gradOutput must be float32, got int32$/],
  [
    'adaptiveAvgPool2dBackward: gradOutput',
    () => native.adaptiveAvgPool2dBackward(i32(1, 2, 2, 2), [1, 2, 4, 4]),
    /^adaptiveAvgPool2dBackward: gradOutput must be float32/,
  ],
  [
    'sgdStep: grads[1]',
    () => native.sgdStep([f32(3), f32(2)], [f32(3), i32(2)], [f32(3), f32(2)], sgd, scalars),
    /^sgdStep: grads\[1\] must be float32, got int32$/,
  ],
  [
    'sgdStep: buffers[0]',
    () => native.sgdStep([f32(3)], [f32(3)], [i32(3)], sgd, scalars),
    /^sgdStep: buffers\[0\] must be float32, got int32$/,
  ],
  [
    'sgdStep: params[0]',
    () => native.sgdStep([i32(3)], [f32(3)], null, { ...sgd, momentum: 0 }, scalars),
    /^sgdStep: params\[0\] must be float32, got int32$/,
  ],
  [
    'sgdStep: scalars',
    () => native.sgdStep([f32(3)], [f32(3)], null, { ...sgd, momentum: 0 }, f32(4)),
    /^sgdStep: scalars must be int32, got float32$/,
  ],
  ['dropoutForward: scalars', () => native.dropoutForward(f32(3), 0.5, f32(4)), /^dropoutForward: scalars must be int32, got float32$/],
  ['advanceCounter: tensor', () => native.advanceCounter(f32(4), 0, 1), /^advanceCounter: tensor must be int32, got float32$/],
  ['preprocess: input', () => native.preprocess(f32(1, 1, 4, 4), 1, 4, 4, null), /^preprocess: input must be uint8, got float32$/],
  [
    'linearBackwardDataRelu: mask',
    () => native.linearBackwardDataRelu(f32(2, 4), f32(4, 5), f32(8)),
    /^linearBackwardDataRelu: mask must be int32, got float32$/,
  ],
  ['addScaled: source', () => native.addScaled(f32(3), i32(3), 1), /^addScaled: source must be float32, got int32$/],
  ['roundToBfloat16: source', () => native.roundToBfloat16(f32(3), i32(3)), /^roundToBfloat16: source must be float32, got int32$/],
  [
    'roundToBfloat16: destination',
    () => native.roundToBfloat16(i32(3), f32(3)),
    /^roundToBfloat16: expected a float32 destination, got int32$/,
  ],
  [
    'countTopkCorrect: labels',
    () => native.countTopkCorrect(f32(2, 5), f32(2), 1, f32(1)),
    /^countTopkCorrect: labels must be int32, got float32$/,
  ],
  [
    'countTopkCorrect: counter',
    () => native.countTopkCorrect(f32(2, 5), i32(2), 1, i32(1)),
    /^countTopkCorrect: counter must be float32, got int32$/,
  ],
  [
    'softmaxCrossEntropy: labels',
    () => native.softmaxCrossEntropy(f32(2, 5), f32(2), false),
    /^softmaxCrossEntropy: labels must be int32, got float32$/,
  ],
];

describe('native ops check the element type of every tensor argument', () => {
  it.each(cases)('%s', (_, fn, message) => expectBadInput(fn, TypeError, message));
  afterEach(expectBackendWorks);
});
