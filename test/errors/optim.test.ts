/**
 * Bad SGD, Adam and AdamW options, parameters and parameter groups: TypeError or RangeError naming
 * the option (and the group), and the backend keeps working.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { Parameter } from '../../lib/nn/index';
import { Adam, type AdamOptions } from '../../lib/optim/adam';
import { AdamW } from '../../lib/optim/adamw';
import { createOptimizer } from '../../lib/optim/choice';
import { SGD, type SgdOptions } from '../../lib/optim/sgd';
import { Tensor } from '../../lib/tensor';
import { expectBackendWorks, expectBadInput } from '../helpers';

const cpu = { backend: 'cpu' } as const;
const bad = <T>(value: unknown) => value as T;
type Case = [description: string, fn: () => unknown, kind: typeof TypeError | typeof RangeError, names: RegExp];

const param = (shape = [2]) => new Parameter('w', Tensor.zeros(shape, cpu));
const sgd = (options: Partial<SgdOptions>) => new SGD([param()], { lr: 0.1, ...options });
const adam = (options: AdamOptions) => new Adam([param()], options);

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
  [
    'nesterov with dampening',
    () => sgd({ momentum: 0.9, dampening: 0.1, nesterov: true }),
    RangeError,
    /SGD: nesterov needs momentum > 0 and dampening 0/,
  ],
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
  // Adam and AdamW
  ['Adam lr negative', () => adam({ lr: -1e-3 }), RangeError, /Adam: lr must be in \[0/],
  ['Adam betas not a pair', () => adam({ betas: bad([0.9]) }), TypeError, /Adam: betas must be a pair \[beta1, beta2\]/],
  ['Adam beta1 of 1', () => adam({ betas: [1, 0.999] }), RangeError, /Adam: betas\[0\] must be in \[0, 1\), got 1/],
  ['Adam beta2 negative', () => adam({ betas: [0.9, -0.1] }), RangeError, /Adam: betas\[1\] must be in \[0, 1\)/],
  ['Adam eps of 0', () => adam({ eps: 0 }), RangeError, /Adam: eps must be in/],
  ['Adam eps negative', () => adam({ eps: -1e-8 }), RangeError, /Adam: eps must be in/],
  ['Adam weightDecay negative', () => adam({ weightDecay: -1 }), RangeError, /Adam: weightDecay must be in/],
  ['Adam amsgrad', () => adam({ amsgrad: true }), RangeError, /Adam: amsgrad: the AMSGrad variant is not supported/],
  ['Adam amsgrad a string', () => adam({ amsgrad: bad('no') }), TypeError, /Adam: amsgrad must be a boolean/],
  ['Adam unknown option', () => adam(bad({ beta1: 0.9 })), TypeError, /Adam options: unknown option "beta1"/],
  ['Adam options null', () => new Adam([param()], bad(null)), TypeError, /Adam: options must be an object/],
  ['AdamW names itself', () => new AdamW([param()], { eps: 0 }), RangeError, /AdamW: eps must be in/],
  // Parameter groups
  [
    'a group without params',
    () => new SGD(bad([{ lr: 0.1 }]), { lr: 0.1 }),
    TypeError,
    /SGD: groups\[0\]\.params must be a non-empty array of Parameters, got undefined/,
  ],
  [
    'an empty group',
    () => new SGD([{ params: [] }], { lr: 0.1 }),
    TypeError,
    /SGD: groups\[0\]\.params must be a non-empty array of Parameters/,
  ],
  [
    'a group holding a number',
    () => new Adam([{ params: [param()] }, { params: bad([1]) }]),
    TypeError,
    /Adam: groups\[1\]\.params\[0\] must be a Parameter, got 1/,
  ],
  [
    'a parameter in two groups',
    () => {
      const p = param();
      return new Adam([{ params: [p] }, { params: [param(), p] }]);
    },
    TypeError,
    /Adam: groups\[1\]\.params\[1\] \(w\) is also groups\[0\]\.params\[0\]; a parameter may be in one group only, once/,
  ],
  [
    'a parameter twice in a list',
    () => {
      const p = param();
      return new SGD([p, p], { lr: 0.1 });
    },
    TypeError,
    /SGD: params\[1\] \(w\) is also params\[0\]/,
  ],
  [
    'an unknown option in a group',
    () => new SGD([{ params: [param()], lr: 0.1, mometum: 0.9 } as never], { lr: 0.1 }),
    TypeError,
    /SGD groups\[0\]: unknown option "mometum" \(did you mean "momentum"\?\)/,
  ],
  [
    'a bad option in a group',
    () => new Adam([{ params: [param()] }, { params: [param()], betas: [0.9, 1] }]),
    RangeError,
    /Adam: groups\[1\]\.betas\[1\] must be in \[0, 1\)/,
  ],
  ['a negative lr in a group', () => new SGD([{ params: [param()], lr: -0.1 }], { lr: 0.1 }), RangeError, /SGD: lr must be in \[0/],
  [
    'a group without lr and no default',
    () => new SGD([{ params: [param()] }, { params: [param()], lr: 0.1 }], bad({})),
    TypeError,
    /SGD: groups\[0\]\.lr must be a number, got undefined/,
  ],
  [
    'Parameters mixed with groups',
    () => new SGD(bad([{ params: [param()] }, param()]), { lr: 0.1 }),
    TypeError,
    /SGD: params mixes Parameters and parameter groups/,
  ],
  [
    'lr set on an optimizer of two groups',
    () => {
      const o = new SGD([{ params: [param()] }, { params: [param()] }], { lr: 0.1 });
      o.lr = 0.5;
    },
    TypeError,
    /SGD\.lr: the optimizer has 2 parameter groups; set groups\[i\]\.lr or call scaleLr/,
  ],
  [
    'a group lr set to NaN between steps',
    () => {
      const a = param();
      const b = param();
      a.setGrad(Tensor.zeros([2], cpu));
      b.setGrad(Tensor.zeros([2], cpu));
      const o = new Adam([{ params: [a] }, { params: [b] }]);
      o.groups[1].lr = NaN;
      o.step();
    },
    RangeError,
    /Adam: groups\[1\]\.lr must be finite and non-negative, got NaN/,
  ],
  ['scaleLr by a negative factor', () => adam({}).scaleLr(-1), RangeError, /Adam\.scaleLr: factor must be a finite non-negative number/],
  // Choosing by name
  [
    'an unknown optimizer type',
    () => createOptimizer([param()], bad({ type: 'rmsprop', lr: 0.1 })),
    TypeError,
    /optimizer\.type must be one of sgd, adam, adamw, got "rmsprop"/,
  ],
  [
    'SGD options given to Adam',
    () => createOptimizer([param()], bad({ type: 'adam', momentum: 0.9 })),
    TypeError,
    /Adam options: unknown option "momentum"/,
  ],
];

afterEach(expectBackendWorks);

describe('SGD: bad input throws a TypeError or RangeError naming the option', () => {
  it.each(cases)('%s', (_description, fn, kind, names) => expectBadInput(fn, kind, names));

  it('a step before any backward pass leaves parameters without a gradient alone, as torch.optim does', async () => {
    const p = new Parameter('w', Tensor.fromArray([1, 2], [2], cpu));
    for (const optimizer of [new SGD([p], { lr: 0.1, momentum: 0.9 }), new Adam([p], { lr: 0.1 })]) {
      optimizer.step();
      expect(Array.from((await p.value.toArray()) as Float32Array)).toEqual([1, 2]);
      optimizer.dispose();
    }
    p.dispose();
  });

  it('a disposed optimizer says so', () => {
    const optimizer = adam({});
    optimizer.dispose();
    expect(() => optimizer.step()).toThrow(/Adam\.step: the optimizer has been disposed/);
  });
});
