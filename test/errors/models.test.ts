/**
 * Bad createAlexNet options (preset, width, numClasses, inChannels, inputSize too small for the
 * network, init, seed, backend) and bad model inputs: TypeError or RangeError naming the option.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { createAlexNet, PRESETS, type AlexNetOptions } from '../../lib/models/alexnet';
import { Tensor } from '../../lib/tensor';
import { expectBackendWorks, expectBadInput } from '../helpers';

const bad = <T>(value: unknown) => value as T;
type Case = [description: string, fn: () => unknown, kind: typeof TypeError | typeof RangeError, names: RegExp];

// Reduced width keeps the models that do get built small.
const build = (options: AlexNetOptions) => createAlexNet({ backend: 'cpu', width: 1 / 16, seed: 1, ...options });

const cases: Case[] = [
  ['options null', () => createAlexNet(bad(null)), TypeError, /AlexNet options must be an object/],
  [
    'an unknown preset',
    () => build({ preset: bad('vgg') }),
    TypeError,
    /preset must be one of paper, seed-tf, torchvision, keras-v1, keras-v2, d2l, got "vgg"/,
  ],
  ['width 0', () => build({ width: 0 }), RangeError, /width must be a number in \(0, 16\], got 0/],
  ['width NaN', () => build({ width: NaN }), RangeError, /width must be a number in \(0, 16\], got NaN/],
  ['width above 16', () => build({ width: 17 }), RangeError, /width must be a number in \(0, 16\]/],
  ['width a string', () => build({ width: bad('1') }), TypeError, /width must be a number in \(0, 16\], got "1"/],
  ['numClasses 0', () => build({ numClasses: 0 }), RangeError, /numClasses must be a positive integer, got 0/],
  ['numClasses 1.5', () => build({ numClasses: 1.5 }), TypeError, /numClasses must be a positive integer, got 1.5/],
  ['inChannels a string', () => build({ inChannels: bad('3') }), TypeError, /inChannels must be a positive integer/],
  ['inputSize 0', () => build({ inputSize: 0 }), RangeError, /inputSize must be a positive integer, got 0/],
  ['inputSize NaN', () => build({ inputSize: NaN }), TypeError, /inputSize must be a positive integer, got NaN/],
  [
    'an unknown init',
    () => build({ init: bad('he') }),
    TypeError,
    /init must be one of pytorch, paper, xavier, kaiming, keras, truncated-normal, got "he"/,
  ],
  ['a negative seed', () => build({ seed: -1 }), RangeError, /seed must be a non-negative/],
  ['a fractional seed', () => build({ seed: 1.5 }), RangeError, /seed must be a non-negative/],
  ['a string seed', () => build({ seed: bad('x') }), TypeError, /seed must be a non-negative integer or a bigint, got "x"/],
  ['an unknown backend', () => build({ backend: bad('gpu') }), TypeError, /backend must be 'auto', 'cpu' or 'cuda', got "gpu"/],
];

afterEach(expectBackendWorks);

describe('createAlexNet: bad options throw a TypeError or RangeError naming the option', () => {
  it.each(cases)('%s', (_description, fn, kind, names) => expectBadInput(fn, kind, names));
});

describe('an input size too small for the network', () => {
  it.each(PRESETS)('%s: a RangeError naming inputSize and the smallest size that works', (preset) => {
    expectBadInput(
      () => build({ preset, inputSize: 32 }),
      RangeError,
      new RegExp(`inputSize 32 is too small for the ${preset} preset, which needs at least \\d+`),
    );
  });

  it('the smallest size named is the smallest that builds (paper: 67)', () => {
    expectBadInput(() => build({ preset: 'paper', inputSize: 66 }), RangeError, /needs at least 67/);
    const model = build({ preset: 'paper', inputSize: 67 });
    expect(model.layerShapes(1).at(-1)![1]).toEqual([1, 1000]);
    model.dispose();
  });
});

describe('AlexNet.forward', () => {
  const model = build({ preset: 'torchvision', numClasses: 10 });

  it('rejects a non-Tensor input with a TypeError naming the input', () => {
    expectBadInput(() => model.forward(bad('image')), TypeError, /AlexNet: input must be a Tensor/);
    expectBadInput(() => model.forward(bad(null)), TypeError, /AlexNet: input must be a Tensor, got null/);
  });

  it('rejects an input of the wrong shape with a RangeError naming the expected shape', () => {
    const small = Tensor.zeros([2, 3, 32, 32], { backend: 'cpu' });
    const gray = Tensor.zeros([2, 1, 224, 224], { backend: 'cpu' });
    const flat = Tensor.zeros([2, 3 * 224 * 224], { backend: 'cpu' });
    for (const t of [small, gray, flat]) {
      expectBadInput(() => model.forward(t), RangeError, /AlexNet \(torchvision\): input must have shape \[N, 3, 224, 224\]/);
      t.dispose();
    }
  });

  it('rejects a disposed input', () => {
    const t = Tensor.zeros([1, 3, 224, 224], { backend: 'cpu' });
    t.dispose();
    expectBadInput(() => model.forward(t), TypeError, /AlexNet: input has been disposed/);
  });

  it('still runs a valid batch afterwards', async () => {
    const input = Tensor.normal([1, 3, 224, 224], { seed: 3 }, { backend: 'cpu' });
    const logits = model.eval().forward(input);
    expect(logits.shape).toEqual([1, 10]);
    expect((await logits.toArray()).every(Number.isFinite)).toBe(true);
    input.dispose();
    logits.dispose();
  });
});
