/**
 * Bad SGD options and parameters: TypeError or RangeError naming the option, and the backend keeps working.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { Parameter } from '../../lib/nn/index';
import { SGD, type SgdOptions } from '../../lib/optim/sgd';
import { Tensor } from '../../lib/tensor';
import { expectBackendWorks, expectBadInput } from '../helpers';

const cpu = { backend: 'cpu' } as const;
const bad = <T>(value: unknown) => value as T;
type Case = [description: string, fn: () => unknown, kind: typeof TypeError | typeof RangeError, names: RegExp];

const param = (shape = [2]) => new Parameter('w', Tensor.zeros(shape, cpu));
const sgd = (options: Partial<SgdOptions>) => new SGD([param()], { lr: 0.1, ...options });

const cases: Case[] = [
  ['params empty', () => new SGD([], { lr: 0.1 }), TypeError, /SGD: params must be a non-empty array of Parameters/],
  ['params not an array', () => new SGD(bad(param()), { lr: 0.1 }), TypeError, /SGD: params must be a non-empty array/],
  ['params holding a number', () => new SGD(bad([param(), 1]), { lr: 0.1 }), TypeError, /SGD: params\[1\] must be a Parameter, got 1/],
  ['params holding a Tensor', () => new SGD(bad([Tensor.zeros([2], cpu)]), { lr: 0.1 }), TypeError, /SGD: params\[0\] must be a Parameter/],
  ['options null', () => new SGD([param()], bad(null)), TypeError, /SGD: options must be an object with lr/],
  ['lr missing', () => new SGD([param()], bad({})), TypeError, /SGD: lr must be a number, got undefined/],
  ['lr negative', () => sgd({ lr: -1 }), RangeError, /SGD: lr must be in \[0/],
  ['lr NaN', () => sgd({ lr: NaN }), RangeError, /SGD: lr must be in \[0.*got NaN/],
  ['lr a string', () => sgd({ lr: bad('0.1') }), TypeError, /SGD: lr must be a number/],
  ['momentum negative', () => sgd({ momentum: -0.9 }), RangeError, /SGD: momentum/],
  ['dampening above 1', () => sgd({ dampening: 2 }), RangeError, /SGD: dampening must be in \[0, 1\]/],
  ['weightDecay infinite', () => sgd({ weightDecay: Infinity }), RangeError, /SGD: weightDecay/],
  ['nesterov a string', () => sgd({ momentum: 0.9, nesterov: bad('yes') }), TypeError, /SGD: nesterov must be a boolean/],
  ['nesterov without momentum', () => sgd({ nesterov: true }), RangeError, /SGD: nesterov needs momentum > 0 and dampening 0/],
  ['nesterov with dampening', () => sgd({ momentum: 0.9, dampening: 0.1, nesterov: true }), RangeError, /SGD: nesterov needs momentum > 0 and dampening 0/],
  [
    'a gradient of another shape',
    () => {
      const p = param();
      p.setGrad(Tensor.zeros([3], cpu));
      new SGD([p], { lr: 0.1 }).step();
    },
    RangeError,
    /grads\[i\] must have the shape of params\[i\]/,
  ],
  [
    'lr set to NaN between steps',
    () => {
      const p = param();
      p.setGrad(Tensor.zeros([2], cpu));
      const optimizer = new SGD([p], { lr: 0.1 });
      optimizer.lr = NaN;
      optimizer.step();
    },
    RangeError,
    /lr must be finite/,
  ],
  [
    'a parameter disposed before the step',
    () => {
      const p = param();
      p.setGrad(Tensor.zeros([2], cpu));
      const optimizer = new SGD([p], { lr: 0.1 });
      p.value.dispose();
      optimizer.step();
    },
    TypeError,
    /disposed/,
  ],
];

afterEach(expectBackendWorks);

describe('SGD: bad input throws a TypeError or RangeError naming the option', () => {
  it.each(cases)('%s', (_description, fn, kind, names) => expectBadInput(fn, kind, names));

  it('a step before any backward pass names the parameter without a gradient', () => {
    expect(() => new SGD([param()], { lr: 0.1 }).step()).toThrow(/parameter 0 \(w\) has no gradient; run backward first/);
  });
});
