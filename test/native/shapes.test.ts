/**
 * The native shape checks: tensors with a dimension of size 0 are refused by the layer ops before
 * they reach a backend, and the shape queries (conv2dOutputShape, pool2dOutputShape,
 * linearOutputShape) give an op's output shape with the op's own checks, naming the parameter.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { getBackend } from '../../lib/backend/backend';
import type { NativeConvGeometry, NativePoolGeometry } from '../../lib/backend/native';
import * as ops from '../../lib/ops/index';
import { Tensor } from '../../lib/tensor';
import { expectBackendWorks, expectBadInput } from '../helpers';

const native = getBackend('cpu').native;
const cpu = { backend: 'cpu' } as const;
const z = (...shape: number[]) => Tensor.zeros(shape, cpu);
const conv: NativeConvGeometry = { strideH: 2, strideW: 1, padTop: 1, padBottom: 2, padLeft: 0, padRight: 1, groups: 2 };
const pool: NativePoolGeometry = { kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padH: 1, padW: 0 };

describe('a dimension of size 0 is refused before it reaches a backend', () => {
  afterEach(expectBackendWorks);
  type Case = [description: string, fn: () => unknown, message: RegExp];
  const cases: Case[] = [
    [
      'linear: input [2, 0]',
      () => ops.linear(z(2, 0), z(3, 0)),
      /^linearForward: input must have no dimension of size 0, got shape \[2, 0\]$/,
    ],
    [
      'linear: weight [0, 5]',
      () => ops.linear(z(2, 5), z(0, 5)),
      /^linearForward: weight must have no dimension of size 0, got shape \[0, 5\]$/,
    ],
    ['conv2d: an empty batch', () => ops.conv2d(z(0, 3, 8, 8), z(4, 3, 3, 3)), /^conv2dForward: input must have no dimension of size 0/],
    [
      'conv2dBackwardData: inputShape with a 0',
      () => ops.conv2dBackwardData(z(2, 4, 6, 6), z(4, 3, 3, 3), [2, 3, 0, 8]),
      /^conv2dBackwardData: inputShape must have no dimension of size 0/,
    ],
    [
      'maxPool2d: an empty plane',
      () => ops.maxPool2d(z(1, 2, 0, 4), { kernelSize: 1 }),
      /^maxPool2dForward: input must have no dimension of size 0/,
    ],
    [
      'adaptiveAvgPool2d: no channels',
      () => ops.adaptiveAvgPool2d(z(1, 0, 4, 4), 2),
      /^adaptiveAvgPool2dForward: input must have no dimension of size 0/,
    ],
    ['relu: an empty tensor', () => ops.relu(z(0)), /^reluForward: input must have no dimension of size 0/],
    [
      'softmaxCrossEntropy: no classes',
      () => ops.softmaxCrossEntropy(z(2, 0), Tensor.fromArray(new Int32Array([0, 0]), [2], cpu)),
      /^softmaxCrossEntropy: logits must have no dimension of size 0/,
    ],
  ];
  it.each(cases)('%s', (_, fn, message) => expectBadInput(fn, RangeError, message));

  it('elementwise updates of empty tensors are allowed (nothing to do)', async () => {
    const a = z(0, 3);
    const b = a.clone();
    ops.addScaled(b, a, 2);
    expect(b.shape).toEqual([0, 3]);
    expect([...(await b.toArray())]).toEqual([]);
    a.dispose();
    b.dispose();
  });
});

describe('shape queries', () => {
  it('conv2dOutputShape matches the shape conv2dForward produces', () => {
    const x = new native.Tensor([2, 4, 9, 7], 'float32').fill(1);
    const w = new native.Tensor([6, 2, 3, 2], 'float32').fill(1);
    const y = native.conv2dForward(x, w, null, conv, false);
    // OH = (9 + 1 + 2 - 3) / 2 + 1 = 5, OW = (7 + 0 + 1 - 2) / 1 + 1 = 7
    expect(native.conv2dOutputShape([2, 4, 9, 7], [6, 2, 3, 2], conv)).toEqual([2, 6, 5, 7]);
    expect(y.shape).toEqual([2, 6, 5, 7]);
    for (const t of [x, w, y]) t.dispose();
  });

  it('pool2dOutputShape and linearOutputShape', () => {
    // OH = (13 + 2 - 3) / 2 + 1 = 7, OW = (11 - 3) / 2 + 1 = 5
    expect(native.pool2dOutputShape([2, 3, 13, 11], pool)).toEqual([2, 3, 7, 5]);
    expect(native.linearOutputShape([8, 9216], [4096, 9216])).toEqual([8, 4096]);
  });

  type Case = [description: string, fn: () => unknown, kind: typeof TypeError | typeof RangeError, message: RegExp];
  const bad: Case[] = [
    [
      'conv2d: inputShape 3-D',
      () => native.conv2dOutputShape([4, 9, 7], [6, 2, 3, 2], conv),
      RangeError,
      /^conv2dOutputShape: inputShape must be 4-D/,
    ],
    [
      'conv2d: channels',
      () => native.conv2dOutputShape([2, 5, 9, 7], [6, 2, 3, 2], conv),
      RangeError,
      /^conv2dOutputShape: input channels 5 are not divisible by groups 2$/,
    ],
    [
      'conv2d: weightShape',
      () => native.conv2dOutputShape([2, 4, 9, 7], [6, 1, 3, 2], conv),
      RangeError,
      /^conv2dOutputShape: weightShape expects 2 input channels .*inputShape \[2, 4, 9, 7\] has 4$/,
    ],
    [
      'conv2d: kernel larger than the input',
      () => native.conv2dOutputShape([2, 4, 1, 7], [6, 2, 5, 2], conv),
      RangeError,
      /kernel 5 is larger than the padded input height 4/,
    ],
    [
      'conv2d: stride 0',
      () => native.conv2dOutputShape([2, 4, 9, 7], [6, 2, 3, 2], { ...conv, strideW: 0 }),
      RangeError,
      /^conv2dOutputShape: stride must be a positive integer, got 0$/,
    ],
    [
      'conv2d: geometry missing',
      () => native.conv2dOutputShape([2, 4, 9, 7], [6, 2, 3, 2], null as never),
      TypeError,
      /^conv2dOutputShape: geometry must be an object$/,
    ],
    [
      'conv2d: inputShape not an array',
      () => native.conv2dOutputShape('x' as never, [6, 2, 3, 2], conv),
      TypeError,
      /^conv2dOutputShape: inputShape must be an array/,
    ],
    [
      'pool2d: padding above half the kernel',
      () => native.pool2dOutputShape([2, 3, 13, 11], { ...pool, padW: 2 }),
      RangeError,
      /^pool2dOutputShape: padding must be at most half the kernel size/,
    ],
    [
      'pool2d: a size of 0',
      () => native.pool2dOutputShape([2, 0, 13, 11], pool),
      RangeError,
      /^pool2dOutputShape: inputShape must have no dimension of size 0/,
    ],
    [
      'linear: features differ',
      () => native.linearOutputShape([8, 9215], [4096, 9216]),
      RangeError,
      /^linearOutputShape: weightShape expects 9216 input features, inputShape \[8, 9215\] has 9215$/,
    ],
  ];
  it.each(bad)('%s', (_, fn, kind, message) => expectBadInput(fn, kind, message));
});
