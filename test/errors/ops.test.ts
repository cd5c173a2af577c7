/**
 * Bad input to every functional op: wrong types, wrong rank, mismatched shapes, NaN / negative /
 * non-integer sizes and strides, int32 where float32 is needed, disposed tensors. Each must throw a
 * TypeError or RangeError naming the parameter, and the backend must keep working afterwards.
 */
import { afterEach, describe, it } from 'vitest';

import * as ops from '../../lib/ops/index';
import { Tensor } from '../../lib/tensor';
import { expectBackendWorks, expectBadInput } from '../helpers';

const cpu = { backend: 'cpu' } as const;
const z = (...shape: number[]) => Tensor.zeros(shape, cpu);
const x = z(2, 3, 8, 8);
const w = z(4, 3, 3, 3);
const flat = z(2, 5);
const lw = z(4, 5);
const labels = Tensor.fromArray(new Int32Array([0, 1]), [2], cpu);
const ints = Tensor.zeros([2, 3, 8, 8], { backend: 'cpu', dtype: 'int32' });
const disposed = z(2, 3, 8, 8);
disposed.dispose();
const lrn = { size: 5, alpha: 1e-4, beta: 0.75, k: 2 };
// Deliberately wrong arguments: the casts get them past TypeScript, as plain JavaScript would.
const bad = <T>(value: unknown) => value as T;

type Case = [description: string, fn: () => unknown, kind: typeof TypeError | typeof RangeError, names: RegExp];

const cases: Record<string, Case[]> = {
  conv2d: [
    ['input is a string', () => ops.conv2d(bad('x'), w), TypeError, /conv2d: input must be a Tensor/],
    ['input is a plain array', () => ops.conv2d(bad([1, 2]), w), TypeError, /input must be a Tensor, got an array/],
    ['input is undefined', () => ops.conv2d(bad(undefined), w), TypeError, /input must be a Tensor/],
    ['weight is null', () => ops.conv2d(x, bad(null)), TypeError, /weight must be a Tensor, got null/],
    ['input is 3-D', () => ops.conv2d(z(3, 8, 8), w), RangeError, /input must be 4-D/],
    ['weight is 2-D', () => ops.conv2d(x, z(4, 27)), RangeError, /weight must be 4-D/],
    ['input channels differ from the weight', () => ops.conv2d(z(2, 4, 8, 8), w), RangeError, /weight expects 3 input channels.*has 4/],
    ['bias of the wrong length', () => ops.conv2d(x, w, z(3)), RangeError, /bias must have shape \[4\]/],
    ['kernel larger than the input', () => ops.conv2d(z(1, 3, 2, 2), w), RangeError, /kernel 3 is larger than the padded input/],
    ['stride 0', () => ops.conv2d(x, w, null, { stride: 0 }), RangeError, /stride must be a positive integer/],
    ['stride NaN', () => ops.conv2d(x, w, null, { stride: NaN }), TypeError, /stride must be a positive integer, got NaN/],
    ['stride -1', () => ops.conv2d(x, w, null, { stride: -1 }), RangeError, /stride must be a positive integer, got -1/],
    ['stride 1.5', () => ops.conv2d(x, w, null, { stride: 1.5 }), TypeError, /stride must be a positive integer, got 1.5/],
    ['stride [1, 0]', () => ops.conv2d(x, w, null, { stride: [1, 0] }), RangeError, /stride\[1\] must be a positive integer/],
    ['padding -1', () => ops.conv2d(x, w, null, { padding: -1 }), RangeError, /padding must be a non-negative integer/],
    [
      'padding.bottom NaN',
      () => ops.conv2d(x, w, null, { padding: { top: 0, bottom: NaN, left: 0, right: 0 } }),
      TypeError,
      /padding.bottom/,
    ],
    ['padding a string', () => ops.conv2d(x, w, null, { padding: bad('same') }), TypeError, /padding must be a number/],
    ['groups that do not divide the channels', () => ops.conv2d(x, w, null, { groups: 2 }), RangeError, /not divisible by groups 2/],
    ['groups 0', () => ops.conv2d(x, w, null, { groups: 0 }), RangeError, /groups must be a positive integer/],
    ['options null', () => ops.conv2d(x, w, null, bad(null)), TypeError, /options must be an object/],
    ['int32 input', () => ops.conv2d(ints, w), TypeError, /input must be float32, got int32/],
    ['disposed weight', () => ops.conv2d(x, disposed), TypeError, /weight has been disposed/],
  ],
  conv2dBackward: [
    ['inputShape a string', () => ops.conv2dBackwardData(z(2, 4, 6, 6), w, bad('shape')), TypeError, /inputShape must be an array/],
    ['inputShape with NaN', () => ops.conv2dBackwardData(z(2, 4, 6, 6), w, [2, 3, NaN, 8]), RangeError, /inputShape must be finite/],
    [
      'inputShape not matching gradOutput',
      () => ops.conv2dBackwardData(z(2, 4, 6, 6), w, [2, 3, 9, 9]),
      RangeError,
      /gradOutput must have the shape.*inputShape/,
    ],
    [
      'weightShape with a negative size',
      () => ops.conv2dBackwardFilter(x, z(2, 4, 6, 6), [4, 3, -3, 3]),
      RangeError,
      /weightShape must hold non-negative sizes/,
    ],
    [
      'weightShape not matching gradOutput',
      () => ops.conv2dBackwardFilter(x, z(2, 4, 6, 6), [4, 3, 5, 5]),
      RangeError,
      /gradOutput must have the shape.*weightShape/,
    ],
    ['gradOutput disposed', () => ops.conv2dBackwardFilter(x, disposed, [4, 3, 3, 3]), TypeError, /gradOutput has been disposed/],
  ],
  localResponseNorm: [
    ['even size', () => ops.localResponseNorm(x, { ...lrn, size: 4 }), RangeError, /size must be an odd integer/],
    ['size 0', () => ops.localResponseNorm(x, { ...lrn, size: 0 }), RangeError, /size must be a positive integer/],
    ['size 2.5', () => ops.localResponseNorm(x, { ...lrn, size: 2.5 }), TypeError, /size must be a positive integer/],
    ['negative alpha', () => ops.localResponseNorm(x, { ...lrn, alpha: -1 }), RangeError, /alpha must be in/],
    ['beta NaN', () => ops.localResponseNorm(x, { ...lrn, beta: NaN }), RangeError, /beta must be in/],
    ['k a string', () => ops.localResponseNorm(x, { ...lrn, k: bad('2') }), TypeError, /k must be a number/],
    ['params null', () => ops.localResponseNorm(x, bad(null)), TypeError, /parameters must be an object/],
    ['2-D input', () => ops.localResponseNorm(flat, lrn), RangeError, /input must be 4-D/],
    ['int32 input', () => ops.localResponseNorm(ints, lrn), TypeError, /input must be float32/],
    [
      'backward: output of another shape',
      () => ops.localResponseNormBackward(x, flat, x, lrn),
      RangeError,
      /output must have the shape of input/,
    ],
  ],
  maxPool2d: [
    [
      'window larger than the input',
      () => ops.maxPool2d(z(1, 1, 2, 2), { kernelSize: 3 }),
      RangeError,
      /kernel 3 is larger than the padded input/,
    ],
    ['kernelSize 0', () => ops.maxPool2d(x, { kernelSize: 0 }), RangeError, /kernelSize must be a positive integer/],
    ['kernelSize NaN', () => ops.maxPool2d(x, { kernelSize: NaN }), TypeError, /kernelSize must be a positive integer, got NaN/],
    ['kernelSize [3]', () => ops.maxPool2d(x, { kernelSize: bad([3]) }), RangeError, /kernelSize must be a number or \[height, width\]/],
    ['stride -2', () => ops.maxPool2d(x, { kernelSize: 3, stride: -2 }), RangeError, /stride must be a positive integer/],
    [
      'padding above half the kernel',
      () => ops.maxPool2d(x, { kernelSize: 3, padding: 2 }),
      RangeError,
      /padding must be at most half the kernel/,
    ],
    ['options null', () => ops.maxPool2d(x, bad(null)), TypeError, /options must be an object/],
    ['2-D input', () => ops.maxPool2d(flat, { kernelSize: 1 }), RangeError, /input must be 4-D/],
    [
      'backward: output of the wrong shape',
      () => ops.maxPool2dBackward(x, z(2, 3, 3, 3), z(2, 3, 3, 3), { kernelSize: 3 }),
      RangeError,
      /output must have the shape of the pooled input/,
    ],
  ],
  adaptiveAvgPool2d: [
    ['outputSize 0', () => ops.adaptiveAvgPool2d(x, 0), RangeError, /outputSize must be a positive integer/],
    ['outputSize NaN', () => ops.adaptiveAvgPool2d(x, NaN), TypeError, /outputSize must be a positive integer/],
    ['outputSize 2.5', () => ops.adaptiveAvgPool2d(x, 2.5), TypeError, /outputSize must be a positive integer/],
    ['outputSize [6, -1]', () => ops.adaptiveAvgPool2d(x, [6, -1]), RangeError, /outputSize\[1\]/],
    ['input a string', () => ops.adaptiveAvgPool2d(bad('x'), 6), TypeError, /input must be a Tensor/],
    ['backward: inputShape null', () => ops.adaptiveAvgPool2dBackward(z(2, 3, 6, 6), bad(null)), TypeError, /inputShape must be an array/],
    [
      'backward: inputShape with other channels',
      () => ops.adaptiveAvgPool2dBackward(z(2, 3, 6, 6), [2, 4, 8, 8]),
      RangeError,
      /gradOutput must have the shape of the pooled input/,
    ],
  ],
  relu: [
    ['input a string', () => ops.relu(bad('x')), TypeError, /relu: input must be a Tensor/],
    ['int32 input', () => ops.relu(labels), TypeError, /input must be float32/],
    ['disposed input', () => ops.relu(disposed), TypeError, /input has been disposed/],
    ['backward: gradOutput of another shape', () => ops.reluBackward(x, flat), RangeError, /gradOutput must have the shape of output/],
    ['backward: gradOutput null', () => ops.reluBackward(x, bad(null)), TypeError, /gradOutput must be a Tensor, got null/],
  ],
  softmax: [
    ['4-D input', () => ops.softmax(x), RangeError, /input must be 2-D/],
    ['int32 input', () => ops.softmax(Tensor.fromArray(new Int32Array([1, 2]), [1, 2], cpu)), TypeError, /input must be float32/],
  ],
  dropout: [
    ['p = 1', () => ops.dropout(x, 1, 0), RangeError, /p must be in \[0, 1\)/],
    ['p < 0', () => ops.dropout(x, -0.1, 0), RangeError, /p must be in \[0, 1\)/],
    ['p NaN', () => ops.dropout(x, NaN, 0), RangeError, /p must be in \[0, 1\), got NaN/],
    ['p a string', () => ops.dropout(x, bad('0.5'), 0), TypeError, /p must be a number/],
    ['negative seed', () => ops.dropout(x, 0.5, -1), RangeError, /seed must be non-negative/],
    ['seed 1.5', () => ops.dropout(x, 0.5, 1.5), RangeError, /seed must be an integer/],
    ['seed a string', () => ops.dropout(x, 0.5, bad('a')), TypeError, /seed must be a number/],
    ['seed 2^64', () => ops.dropout(x, 0.5, 1n << 64n), RangeError, /seed must fit in 64 unsigned bits/],
    ['negative offset', () => ops.dropout(x, 0.5, 1, -4), RangeError, /offset must be non-negative/],
    ['int32 input', () => ops.dropout(ints, 0.5, 1), TypeError, /input must be float32/],
    ['backward (multiply): shapes differ', () => ops.multiply(x, flat), RangeError, /b must have the shape of a/],
  ],
  linear: [
    ['input features differ from the weight', () => ops.linear(z(2, 6), lw), RangeError, /weight expects 5 input features/],
    ['1-D input', () => ops.linear(z(5), lw), RangeError, /input must be 2-D/],
    ['weight 4-D', () => ops.linear(flat, w), RangeError, /weight must be 2-D/],
    ['bias of the wrong length', () => ops.linear(flat, lw, z(5)), RangeError, /bias must have shape \[4\]/],
    ['weight a plain array', () => ops.linear(flat, bad([[1]])), TypeError, /weight must be a Tensor/],
    ['int32 input', () => ops.linear(Tensor.zeros([2, 5], { backend: 'cpu', dtype: 'int32' }), lw), TypeError, /input must be float32/],
    ['backward data: gradOutput features differ', () => ops.linearBackwardData(z(2, 3), lw), RangeError, /gradOutput has 3 features/],
    [
      'backward weight: batch sizes differ',
      () => ops.linearBackwardWeight(flat, z(3, 4)),
      RangeError,
      /gradOutput has batch 3, input has 2/,
    ],
  ],
  softmaxCrossEntropy: [
    ['float32 labels', () => ops.softmaxCrossEntropy(flat, z(2)), TypeError, /labels must be int32/],
    [
      'labels length differs from the batch',
      () => ops.softmaxCrossEntropy(flat, Tensor.fromArray(new Int32Array([0, 1, 2]), [3], cpu)),
      RangeError,
      /labels must have shape \[2\]/,
    ],
    ['4-D logits', () => ops.softmaxCrossEntropy(x, labels), RangeError, /logits must be 2-D/],
    ['labels null', () => ops.softmaxCrossEntropy(flat, bad(null)), TypeError, /labels must be a Tensor, got null/],
    ['labels a plain array', () => ops.softmaxCrossEntropy(flat, bad([0, 1])), TypeError, /labels must be a Tensor/],
  ],
  countTopkCorrect: [
    ['k 0', () => ops.countTopkCorrect(flat, labels, 0, z(1)), RangeError, /k must be a positive integer/],
    ['k above the class count', () => ops.countTopkCorrect(flat, labels, 6, z(1)), RangeError, /k must be an integer from 1 to 5/],
    ['k 1.5', () => ops.countTopkCorrect(flat, labels, 1.5, z(1)), TypeError, /k must be a positive integer/],
    ['counter of two elements', () => ops.countTopkCorrect(flat, labels, 1, z(2)), RangeError, /counter must hold one element/],
    ['counter null', () => ops.countTopkCorrect(flat, labels, 1, bad(null)), TypeError, /counter must be a Tensor/],
  ],
  elementwise: [
    ['addScaled: alpha NaN', () => ops.addScaled(flat, flat, NaN), RangeError, /alpha must be finite/],
    ['addScaled: element counts differ', () => ops.addScaled(flat, x, 1), RangeError, /hold different numbers of elements/],
    ['copyInto: element counts differ', () => ops.copyInto(flat, x), RangeError, /hold different numbers of elements/],
    ['copyInto: dtypes differ', () => ops.copyInto(z(2), labels), TypeError, /same dtype/],
  ],
};

afterEach(expectBackendWorks);

for (const [op, list] of Object.entries(cases)) {
  describe(`${op}: bad input throws a TypeError or RangeError naming the parameter`, () => {
    it.each(list)('%s', (_description, fn, kind, names) => expectBadInput(fn, kind, names));
  });
}
