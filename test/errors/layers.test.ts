/**
 * Bad input to the layers: constructor options, forward inputs of the wrong type, rank or shape,
 * and layers whose parameters were disposed. TypeError or RangeError naming the parameter, and the
 * backend keeps working.
 */
import { afterEach, describe, expect, it } from 'vitest';

import {
  AdaptiveAvgPool2d,
  Conv2d,
  CrossEntropyLoss,
  Dropout,
  Flatten,
  Linear,
  LocalResponseNorm,
  MaxPool2d,
  Parameter,
  ReLU,
  Sequential,
} from '../../lib/nn/index';
import { Tensor } from '../../lib/tensor';
import { expectBackendWorks, expectBadInput } from '../helpers';

const cpu = { backend: 'cpu' } as const;
const bad = <T>(value: unknown) => value as T;
type Case = [description: string, fn: () => unknown, kind: typeof TypeError | typeof RangeError, names: RegExp];

const x = Tensor.zeros([2, 3, 8, 8], cpu);
const flat = Tensor.zeros([2, 5], cpu);
const labels = Tensor.fromArray(new Int32Array([0, 1]), [2], cpu);
const conv = (extra: object = {}) => new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, backend: 'cpu', seed: 1, ...extra });
const linear = () => new Linear({ inFeatures: 5, outFeatures: 4, backend: 'cpu', seed: 1 });

const cases: Record<string, Case[]> = {
  Conv2d: [
    ['config null', () => new Conv2d(bad(null)), TypeError, /Conv2d: config must be an object/],
    ['inChannels 0', () => conv({ inChannels: 0 }), RangeError, /Conv2d: inChannels must be a positive integer/],
    ['inChannels a string', () => conv({ inChannels: 'a' }), TypeError, /Conv2d: inChannels must be a positive integer, got "a"/],
    ['outChannels NaN', () => conv({ outChannels: NaN }), TypeError, /Conv2d: outChannels/],
    ['kernelSize -3', () => conv({ kernelSize: -3 }), RangeError, /Conv2d: kernelSize must be a positive integer/],
    ['stride 1.5', () => conv({ stride: 1.5 }), TypeError, /Conv2d: stride/],
    ['groups that do not divide the channels', () => conv({ groups: 2 }), RangeError, /must be divisible by groups \(2\)/],
    [
      'padding an unknown word',
      () => conv({ padding: 'full' }),
      TypeError,
      /padding must be a number, \[height, width\] or \{top, bottom, left, right\}/,
    ],
    ['padding.left negative', () => conv({ padding: { top: 0, bottom: 0, left: -1, right: 0 } }), RangeError, /padding.left/],
    ['a negative seed', () => conv({ seed: -1 }), RangeError, /Conv2d: seed/],
    ['a string seed', () => conv({ seed: 'x' }), TypeError, /Conv2d: seed/],
    ['forward: input a string', () => conv().forward(bad('x')), TypeError, /Conv2d: input must be a Tensor/],
    ['forward: input channels differ', () => conv({ inChannels: 2 }).forward(x), RangeError, /weight expects 2 input channels/],
    [
      'forward: input smaller than the kernel',
      () => conv({ kernelSize: 9 }).forward(x),
      RangeError,
      /kernel 9 is larger than the padded input/,
    ],
    ['outputShape: wrong rank', () => conv().outputShape([3, 8, 8]), RangeError, /Conv2d: input must be 4-D/],
    [
      'outputShape: input smaller than the kernel',
      () => conv({ kernelSize: 9 }).outputShape([1, 3, 8, 8]),
      RangeError,
      /^Conv2d: kernel 9 is larger than the padded input height 8/,
    ],
  ],
  Linear: [
    ['config null', () => new Linear(bad(null)), TypeError, /Linear: config must be an object/],
    [
      'outFeatures 0',
      () => new Linear({ inFeatures: 3, outFeatures: 0, backend: 'cpu' }),
      RangeError,
      /Linear: outFeatures must be a positive integer/,
    ],
    ['inFeatures 2.5', () => new Linear({ inFeatures: 2.5, outFeatures: 1, backend: 'cpu' }), TypeError, /Linear: inFeatures/],
    ['forward: feature count differs', () => linear().forward(Tensor.zeros([2, 3], cpu)), RangeError, /weight expects 5 input features/],
    ['forward: input a plain array', () => linear().forward(bad([[1, 2, 3, 4, 5]])), TypeError, /linear: input must be a Tensor/],
    ['outputShape: wrong rank', () => linear().outputShape([2, 5, 1]), RangeError, /Linear: input must be 2-D/],
  ],
  'MaxPool2d, AdaptiveAvgPool2d': [
    ['MaxPool2d: kernelSize 0', () => new MaxPool2d({ kernelSize: 0 }), RangeError, /kernelSize must be a positive integer/],
    ['MaxPool2d: options null', () => new MaxPool2d(bad(null)), TypeError, /options must be an object/],
    ['MaxPool2d: stride NaN', () => new MaxPool2d({ kernelSize: 3, stride: NaN }), TypeError, /stride/],
    [
      'MaxPool2d.forward: window larger than the input',
      () => new MaxPool2d({ kernelSize: 9 }).forward(x),
      RangeError,
      /kernel 9 is larger than the padded input/,
    ],
    [
      'MaxPool2d.outputShape: window larger than the input',
      () => new MaxPool2d({ kernelSize: 9 }).outputShape([1, 3, 8, 8]),
      RangeError,
      /^MaxPool2d: kernel 9 is larger than the padded input height 8/,
    ],
    [
      'AdaptiveAvgPool2d: outputSize 0',
      () => new AdaptiveAvgPool2d(0),
      RangeError,
      /AdaptiveAvgPool2d: outputSize must be a positive integer/,
    ],
    [
      'AdaptiveAvgPool2d.forward: input a string',
      () => new AdaptiveAvgPool2d(2).forward(bad('x')),
      TypeError,
      /AdaptiveAvgPool2d: input must be a Tensor/,
    ],
    ['AdaptiveAvgPool2d.forward: 2-D input', () => new AdaptiveAvgPool2d(2).forward(flat), RangeError, /input must be 4-D/],
  ],
  'LocalResponseNorm, ReLU, Dropout, Flatten, Sequential': [
    ['LocalResponseNorm: even size', () => new LocalResponseNorm(4), RangeError, /size must be an odd integer from 1 to 15, got 4/],
    ['LocalResponseNorm: size 17', () => new LocalResponseNorm(17), RangeError, /size must be an odd integer from 1 to 15/],
    ['LocalResponseNorm: alpha NaN', () => new LocalResponseNorm(5, NaN), RangeError, /alpha/],
    [
      'LocalResponseNorm.fromPaper: negative beta',
      () => LocalResponseNorm.fromPaper({ size: 5, alpha: 1e-4, beta: -1, k: 2 }),
      RangeError,
      /beta/,
    ],
    ['LocalResponseNorm.forward: 2-D input', () => new LocalResponseNorm(5).forward(flat), RangeError, /input must be 4-D/],
    ['ReLU.forward: input null', () => new ReLU().forward(bad(null)), TypeError, /relu: input must be a Tensor, got null/],
    ['Dropout: p = 1', () => new Dropout(1), RangeError, /Dropout: p must be in \[0, 1\), got 1/],
    ['Dropout: p < 0', () => new Dropout(-0.5), RangeError, /Dropout: p must be in \[0, 1\)/],
    ['Dropout: p NaN', () => new Dropout(NaN), RangeError, /Dropout: p must be in \[0, 1\), got NaN/],
    ['Dropout: p a string', () => new Dropout(bad('0.5')), TypeError, /Dropout: p must be a number/],
    ['Dropout: a negative seed', () => new Dropout(0.5, { seed: -1 }), RangeError, /Dropout: seed/],
    [
      'Dropout: a seed of 2^64',
      () => new Dropout(0.5, { seed: 1n << 64n }),
      RangeError,
      /Dropout: seed must be an integer in \[0, 2\^64\)/,
    ],
    [
      'Dropout.forward: input a string',
      () => new Dropout(0.5, { seed: 1 }).forward(bad('x')),
      TypeError,
      /Dropout: input must be a Tensor/,
    ],
    [
      'Dropout.forward in evaluation: input a string',
      () => new Dropout(0.5, { seed: 1 }).eval().forward(bad('x')),
      TypeError,
      /Dropout: input must be a Tensor/,
    ],
    ['Flatten.forward: input a string', () => new Flatten().forward(bad('x')), TypeError, /Flatten: input must be a Tensor/],
    ['Sequential: an entry that is not a Module', () => new Sequential(bad('x')), TypeError, /Sequential: entry 0 must be a Module/],
    ['Sequential: duplicate names', () => new Sequential(['a', new ReLU()], ['a', new ReLU()]), RangeError, /child names must be unique/],
  ],
  'Parameter, CrossEntropyLoss': [
    ['Parameter.set: a string', () => new Parameter('w', Tensor.zeros([2], cpu)).set(bad('x')), TypeError, /w: value must be a Tensor/],
    [
      'Parameter.set: another shape',
      () => new Parameter('w', Tensor.zeros([2], cpu)).set(Tensor.zeros([3], cpu)),
      RangeError,
      /w: new value has shape \[3\], expected \[2\]/,
    ],
    ['CrossEntropyLoss: logits a string', () => new CrossEntropyLoss().compute(bad('x'), labels), TypeError, /logits must be a Tensor/],
    ['CrossEntropyLoss: float32 labels', () => new CrossEntropyLoss().compute(flat, flat), TypeError, /labels must be an int32 tensor/],
    [
      'CrossEntropyLoss: labels for another batch',
      () => new CrossEntropyLoss().compute(flat, Tensor.fromArray(new Int32Array([1]), [1], cpu)),
      RangeError,
      /labels must have shape \[2\]/,
    ],
    [
      'CrossEntropyLoss.value: labels null',
      () => new CrossEntropyLoss().value(flat, bad(null)),
      TypeError,
      /labels must be a Tensor, got null/,
    ],
  ],
};

afterEach(expectBackendWorks);

for (const [what, list] of Object.entries(cases)) {
  describe(`${what}: bad input throws a TypeError or RangeError naming the parameter`, () => {
    it.each(list)('%s', (_description, fn, kind, names) => expectBadInput(fn, kind, names));
  });
}

describe('layers with disposed parameters or inputs', () => {
  it('a layer whose weight was disposed throws a TypeError naming the weight', () => {
    const layer = linear();
    layer.weight.value.dispose();
    expectBadInput(() => layer.forward(flat), TypeError, /linear: weight has been disposed/);
    const c = conv();
    c.bias!.value.dispose();
    expectBadInput(() => c.forward(x), TypeError, /conv2d: bias has been disposed/);
  });

  it('a disposed layer throws on use, and disposing it again is harmless', () => {
    const layer = linear();
    layer.dispose();
    expect(() => layer.dispose()).not.toThrow();
    expectBadInput(() => layer.forward(flat), TypeError, /weight has been disposed/);
  });

  it('a disposed input to a layer is a TypeError naming the input', () => {
    const t = Tensor.zeros([2, 3, 8, 8], cpu);
    t.dispose();
    expectBadInput(() => conv().forward(t), TypeError, /Conv2d: input has been disposed/);
    expectBadInput(() => new MaxPool2d({ kernelSize: 2 }).forward(t), TypeError, /maxPool2d: input has been disposed/);
    expectBadInput(() => new Dropout(0.5, { seed: 1 }).eval().forward(t), TypeError, /Dropout: input has been disposed/);
  });

  it('backward before forward says so (an Error, not a crash)', () => {
    expect(() => conv().backward(Tensor.zeros([2, 4, 6, 6], cpu))).toThrow(/call forward in training mode first/);
    expect(() => new MaxPool2d({ kernelSize: 2 }).backward(x)).toThrow(/call forward in training mode first/);
  });
});
