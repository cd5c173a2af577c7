/**
 * Freezing (Module.freeze / unfreeze): which parameters a name selects, that frozen parameters get
 * no gradient work (no weight-gradient op is launched for them, and no input-gradient op below the
 * lowest trainable layer), keep their values and lose their gradients, and that the gradients of
 * the trainable parameters match PyTorch's with requires_grad=False on the frozen part.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { getBackend } from '../../lib/backend/backend';
import { createAlexNet, type AlexNet } from '../../lib/models/alexnet';
import { Dropout } from '../../lib/nn/dropout';
import { setLinearEpilogues } from '../../lib/nn/epilogues';
import { lockRequiresGrad } from '../../lib/nn/freeze';
import { ModelBusyError } from '../../lib/models/modelUse';
import { Tensor } from '../../lib/tensor';
import { ciRequiresEverything, compareArrays, FP32_RTOL } from '../helpers';
import { runTorch, torchAvailable } from '../python';

const cpu = () => getBackend('cpu');

function smallTorchvision(seed = 5): AlexNet {
  return createAlexNet({ preset: 'torchvision', width: 1 / 16, inputSize: 64, numClasses: 7, seed, backend: 'cpu' });
}

/** Dropout off (identity forward and backward) while the rest stays in training mode, so PyTorch's eval-mode network matches. */
function dropoutOff(model: AlexNet): void {
  const visit = (m: { children(): [string, unknown][] }) => {
    for (const [, child] of m.children()) {
      if (child instanceof Dropout) child.training = false;
      else visit(child as { children(): [string, unknown][] });
    }
  };
  visit(model);
}

afterEach(() => {
  setLinearEpilogues(false);
});

describe('Module.freeze / unfreeze', () => {
  it('selects whole models, blocks, layers and parameters by name, at dots only', () => {
    const model = smallTorchvision();
    const frozen = () =>
      model
        .namedParameters()
        .filter(([, p]) => !p.requiresGrad)
        .map(([n]) => n);
    expect(frozen()).toEqual([]);
    expect(model.freeze('features')).toBe(model);
    expect(frozen()).toEqual(
      model
        .namedParameters()
        .map(([n]) => n)
        .filter((n) => n.startsWith('features.')),
    );
    model.unfreeze('features.3');
    expect(frozen()).not.toContain('features.3.weight');
    expect(frozen()).not.toContain('features.3.bias');
    expect(frozen()).toContain('features.0.weight');
    model.unfreeze();
    model.freeze('classifier.6.bias', 'features.0');
    expect(frozen()).toEqual(['features.0.weight', 'features.0.bias', 'classifier.6.bias']);
    model.unfreeze().freeze();
    expect(model.trainableParameterCount()).toBe(0);
    expect(model.hasTrainableParameters()).toBe(false);
    model.unfreeze();
    // A block's own freeze names its parameters from there.
    const classifier = model.network.get('classifier')!;
    classifier.freeze('1');
    expect(frozen()).toEqual(['classifier.1.weight', 'classifier.1.bias']);
    const fc6 = model
      .namedParameters()
      .filter(([n]) => n.startsWith('classifier.1.'))
      .reduce((n, [, p]) => n + p.value.size, 0);
    expect(model.trainableParameterCount()).toBe(model.parameterCount() - fc6);
    model.dispose();
  });

  it('an unknown name is a RangeError naming it and listing the valid names; nothing changes', () => {
    const model = smallTorchvision();
    // 'features.1' is a ReLU (no parameters): it must not select 'features.10.weight'.
    expect(() => model.freeze('features', 'features.1')).toThrow(
      /no block or parameter named "features\.1"; expected one of "features", "features\.0", "features\.0\.weight"/,
    );
    expect(model.trainableParameterCount()).toBe(model.parameterCount());
    expect(() => model.freeze('classifer')).toThrow(/"classifer".*"classifier\.6\.bias"/);
    expect(() => model.freeze(3 as unknown as string)).toThrow(TypeError);
    model.dispose();
  });

  it('a run holding the parameters refuses freeze and unfreeze with a ModelBusyError', () => {
    const model = smallTorchvision();
    const unlock = lockRequiresGrad(
      model.namedParameters().map(([, p]) => p),
      'Trainer.fit',
    );
    expect(() => model.freeze('features')).toThrow(ModelBusyError);
    expect(() => model.freeze('features')).toThrow(/freeze: parameter features\.0\.weight is being trained by Trainer\.fit/);
    expect(model.trainableParameterCount()).toBe(model.parameterCount());
    unlock();
    model.freeze('features');
    expect(model.namedParameters()[0][1].requiresGrad).toBe(false);
    model.dispose();
  });
});

/** One forward and backward of `model` on fixed data; returns the ops launched. */
function step(model: AlexNet): Record<string, number> {
  const native = cpu().native as unknown as Record<string, (...args: unknown[]) => unknown>;
  const names = ['conv2dBackwardFilter', 'conv2dBackwardData', 'linearBackwardWeight', 'linearBackwardData', 'linearBackwardDataRelu'];
  const counts: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  const originals = names.map((n) => native[n]);
  names.forEach((n, i) => {
    native[n] = function (this: unknown, ...args: unknown[]) {
      counts[n]++;
      return originals[i].apply(this, args);
    };
  });
  try {
    const x = Tensor.uniform([2, 3, 64, 64], { low: -1, high: 1, seed: 11 }, { backend: cpu() });
    const logits = model.forward(x);
    const dy = Tensor.normal(logits.shape, { seed: 12 }, { backend: cpu() });
    expect(model.backward(dy)).toBeNull();
    for (const t of [x, logits, dy]) t.dispose();
  } finally {
    names.forEach((n, i) => (native[n] = originals[i]!));
  }
  return counts;
}

describe('frozen parameters get no gradient work', () => {
  for (const epilogues of [false, true]) {
    it(`frozen features: no convolution gradient ops, unchanged values, null gradients${epilogues ? ' (Linear epilogues on)' : ''}`, async () => {
      setLinearEpilogues(epilogues);
      const model = smallTorchvision();
      const all = step(model);
      // Unfrozen: 5 convolutions' filter gradients, 4 input gradients (none for the images), 3 linears.
      expect(all.conv2dBackwardFilter).toBe(5);
      expect(all.conv2dBackwardData).toBe(4);
      expect(all.linearBackwardWeight).toBe(3);
      model.freeze('features');
      for (const [, p] of model.namedParameters()) if (!p.requiresGrad) expect(p.grad).toBeNull();
      const before = await Promise.all(model.namedParameters().map(([, p]) => p.value.toArray()));
      const counts = step(model);
      expect(counts.conv2dBackwardFilter).toBe(0);
      expect(counts.conv2dBackwardData).toBe(0);
      expect(counts.linearBackwardWeight).toBe(3);
      // The lowest trainable layer (classifier.1) needs no input gradient: 2 data products above it.
      expect(counts.linearBackwardData + counts.linearBackwardDataRelu).toBe(2);
      for (const [i, [name, p]] of model.namedParameters().entries()) {
        if (name.startsWith('features.')) {
          expect(p.grad, name).toBeNull();
          expect(Array.from(await p.value.toArray()), name).toEqual(Array.from(before[i]));
        } else {
          expect(p.grad, name).not.toBeNull();
        }
      }
      // The gradient buffer holds zeros where the frozen parameters are.
      const grads = (await model.flat.grads.toArray()) as Float32Array;
      for (const s of model.flat.segments) {
        if (!s.parameter.requiresGrad)
          expect(
            grads.subarray(s.offset, s.offset + s.size).every((v) => v === 0),
            s.parameter.name,
          ).toBe(true);
      }
      model.dispose();
    });
  }

  it('a frozen output layer with trainable layers below still passes the gradient down, without its own weight gradient', () => {
    const model = smallTorchvision();
    model.freeze('classifier.6');
    const counts = step(model);
    expect(counts.linearBackwardWeight).toBe(2);
    expect(counts.conv2dBackwardFilter).toBe(5);
    const head = model.namedParameters().filter(([n]) => n.startsWith('classifier.6'));
    for (const [, p] of head) expect(p.grad).toBeNull();
    model.dispose();
  });

  it('everything frozen: backward launches nothing and releases what forward kept', () => {
    const model = smallTorchvision();
    model.freeze();
    const counts = step(model);
    expect(Object.values(counts).every((n) => n === 0)).toBe(true);
    // The next training forward is allowed (nothing waits for a backward).
    const x = Tensor.zeros([1, 3, 64, 64], { backend: cpu() });
    model.forward(x).dispose();
    model.clearSaved();
    x.dispose();
    model.dispose();
  });
});

describe('trainable gradients match PyTorch with requires_grad=False on the frozen part', () => {
  it('features, conv1, head, or parts of the Linear epilogue pair frozen', async (ctx) => {
    const torch = torchAvailable();
    if (!torch.ok) {
      if (ciRequiresEverything) throw new Error(torch.reason);
      ctx.skip(torch.reason);
    }
    // [frozen names, Linear epilogues]: the epilogue pair (classifier.4, ReLU, classifier.6) computes
    // classifier.4's bias gradient inside classifier.6's backward, which must drop it when frozen.
    const cases: [string[], boolean][] = [
      [['features'], false],
      [['features.0'], false],
      [['classifier.6', 'features.3'], false],
      [['classifier.4'], true],
      [['classifier.4.bias', 'classifier.6.weight'], true],
    ];
    for (const [frozenNames, epilogues] of cases) {
      setLinearEpilogues(epilogues);
      const model = smallTorchvision(21);
      dropoutOff(model);
      model.freeze(...frozenNames);
      const x = Tensor.uniform([2, 3, 64, 64], { low: -1, high: 1, seed: 11 }, { backend: cpu() });
      const logits = model.forward(x);
      const dy = Tensor.normal(logits.shape, { seed: 12 }, { backend: cpu() });
      model.backward(dy);
      const inputs: Record<string, { shape: number[]; data: Float32Array }> = {
        x: { shape: [...x.shape], data: await x.toArray() },
        dy: { shape: [...dy.shape], data: await dy.toArray() },
      };
      for (const [name, p] of model.namedParameters())
        inputs[`param.${name}`] = { shape: [...p.value.shape], data: (await p.value.toArray()) as Float32Array };
      const script = `
import os, torch, torch.nn as nn
from safetensors.torch import load_file, save_file
t = load_file(os.environ['IN'])
p = {k[6:]: v for k, v in t.items() if k.startswith('param.')}
c = [p['features.%d.weight' % i].shape[0] for i in (0, 3, 6, 8, 10)]
hidden = p['classifier.1.weight'].shape[0]
classes = p['classifier.6.weight'].shape[0]
m = nn.Module()
m.features = nn.Sequential(
    nn.Conv2d(3, c[0], 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
    nn.Conv2d(c[0], c[1], 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
    nn.Conv2d(c[1], c[2], 3, padding=1), nn.ReLU(),
    nn.Conv2d(c[2], c[3], 3, padding=1), nn.ReLU(),
    nn.Conv2d(c[3], c[4], 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2))
m.avgpool = nn.AdaptiveAvgPool2d(6)
m.classifier = nn.Sequential(nn.Dropout(), nn.Linear(c[4] * 36, hidden), nn.ReLU(), nn.Dropout(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, classes))
m.load_state_dict(p, strict=True)
m.eval()
for name, q in m.named_parameters():
    if any(name == f or name.startswith(f + '.') for f in os.environ['FROZEN'].split(',')):
        q.requires_grad_(False)
y = m.classifier(torch.flatten(m.avgpool(m.features(t['x'])), 1))
(y * t['dy']).sum().backward()
out = {'logits': y.detach()}
for name, q in m.named_parameters():
    if q.grad is not None:
        out['grad.' + name] = q.grad
    elif q.requires_grad:
        raise SystemExit('no gradient for trainable ' + name)
save_file(out, os.environ['OUT'])
`;
      const { outputs } = runTorch(script, inputs, { FROZEN: frozenNames.join(',') });
      compareArrays(`${frozenNames.join(',')}: logits`, await logits.toArray(), outputs.get('logits')!.data as Float32Array, FP32_RTOL);
      for (const [name, p] of model.namedParameters()) {
        const theirs = outputs.get(`grad.${name}`);
        if (!p.requiresGrad) {
          expect(theirs, `${name}: PyTorch computed no gradient`).toBeUndefined();
          expect(p.grad, `${name}: frozen`).toBeNull();
          continue;
        }
        expect(theirs, `${name}: PyTorch's gradient`).toBeDefined();
        compareArrays(`${frozenNames.join(',')}: grad ${name}`, await p.grad!.toArray(), theirs!.data as Float32Array, FP32_RTOL);
      }
      for (const t of [x, logits, dy]) t.dispose();
      model.dispose();
    }
  });
});
