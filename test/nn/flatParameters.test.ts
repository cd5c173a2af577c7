/**
 * Flat parameter buffers (lib/nn/flatParameters.ts): a model's parameters and gradients are views
 * of one buffer each, Parameter.set copies into the view, SGD updates everything in one pass with
 * the same bits as the per-tensor update, and still matches torch.optim.SGD's fixtures.
 */
import { describe, expect, it } from 'vitest';

import { getBackend } from '../../lib/backend/backend';
import { createAlexNet } from '../../lib/models/alexnet';
import { FLAT_ALIGNMENT, FlatParameters } from '../../lib/nn/flatParameters';
import { Parameter } from '../../lib/nn/module';
import { SGD, type SgdOptions } from '../../lib/optim/sgd';
import { Tensor } from '../../lib/tensor';
import { cpuTensor, expectTensorClose, loadFixture } from '../helpers';

const cpu = () => getBackend('cpu');

async function bits(t: Tensor): Promise<number[]> {
  const v = (await t.toArray()) as Float32Array;
  return Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length));
}

describe('flat parameter buffers', () => {
  it('createAlexNet keeps every parameter and gradient as a view of one buffer each', async () => {
    const model = createAlexNet({ preset: 'torchvision', width: 1 / 16, numClasses: 10, seed: 3, backend: 'cpu' });
    const named = model.namedParameters();
    expect(model.flat.segments.map((s) => s.parameter)).toEqual(named.map(([, p]) => p));
    const all = (await model.flat.values.toArray()) as Float32Array;
    for (const { parameter, offset, size } of model.flat.segments) {
      expect(parameter.flat).toBe(model.flat);
      expect(offset % FLAT_ALIGNMENT, `${parameter.name} alignment`).toBe(0);
      expect(size).toBe(parameter.value.size);
      expect(Array.from(await parameter.value.toArray())).toEqual(Array.from(all.subarray(offset, offset + size)));
      expect(parameter.grad).toBeNull(); // until a backward pass writes its view
    }
    expect(model.flat.size).toBeGreaterThanOrEqual(model.parameterCount());
    model.dispose();
  });

  it('Parameter.set copies into the view (same tensor, new values) and disposes what it was given', async () => {
    const model = createAlexNet({ preset: 'paper', width: 1 / 16, numClasses: 10, seed: 3, backend: 'cpu' });
    const [, p] = model.namedParameters()[4];
    const view = p.value;
    const incoming = Tensor.full(p.value.shape, 0.25, { backend: cpu() });
    p.set(incoming);
    expect(p.value).toBe(view);
    expect(incoming.disposed).toBe(true);
    const all = (await model.flat.values.toArray()) as Float32Array;
    const segment = model.flat.segments[4];
    expect(all.subarray(segment.offset, segment.offset + segment.size).every((v) => v === 0.25)).toBe(true);
    expect(() => p.set(Tensor.zeros([3], { backend: cpu() }))).toThrow(/new value has shape \[3\]/);
    model.dispose();
  });

  it('backward writes the gradients into their views', async () => {
    const model = createAlexNet({ preset: 'd2l', width: 1 / 16, inputSize: 67, seed: 3, backend: 'cpu' });
    const x = Tensor.normal([2, 1, 67, 67], { seed: 1 }, { backend: cpu() });
    const logits = model.forward(x);
    const dy = Tensor.normal(logits.shape, { seed: 2 }, { backend: cpu() });
    model.backward(dy);
    const grads = (await model.flat.grads.toArray()) as Float32Array;
    for (const { parameter, offset, size } of model.flat.segments) {
      expect(parameter.grad, parameter.name).not.toBeNull();
      expect(Array.from(await parameter.grad!.toArray())).toEqual(Array.from(grads.subarray(offset, offset + size)));
    }
    // The alignment gaps stay zero.
    const covered = new Uint8Array(grads.length);
    for (const { offset, size } of model.flat.segments) covered.fill(1, offset, offset + size);
    expect(grads.every((g, i) => covered[i] === 1 || g === 0)).toBe(true);
    for (const t of [x, logits, dy]) t.dispose();
    model.dispose();
  });

  it('rejects parameter lists it cannot flatten', () => {
    const a = new Parameter('a', Tensor.zeros([3], { backend: cpu() }));
    expect(() => FlatParameters.adopt([])).toThrow(/non-empty array/);
    expect(() => FlatParameters.adopt([a, a])).toThrow(/must not repeat/);
    const group = FlatParameters.adopt([a]);
    expect(() => FlatParameters.adopt([a])).toThrow(/params\[0\] \(a\) is in flat buffers already/);
    group.dispose();
    a.dispose();
  });
});

describe('SGD over flat buffers', () => {
  const OPTIONS: [string, SgdOptions][] = [
    ['momentum 0.9, weight decay 5e-4', { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 }],
    ['Nesterov', { lr: 0.05, momentum: 0.9, weightDecay: 5e-4, nesterov: true }],
    ['dampening 0.1', { lr: 0.02, momentum: 0.9, dampening: 0.1 }],
    ['plain', { lr: 0.01 }],
  ];
  const SHAPES = [[96, 3, 11, 11], [96], [100, 37], [7], [1001]];

  for (const [name, options] of OPTIONS) {
    it(`gives the per-tensor update's bits (${name})`, async () => {
      const make = () => SHAPES.map((s, i) => new Parameter(`p${i}`, Tensor.normal(s, { seed: 10 + i }, { backend: cpu() })));
      const separate = make();
      const flatParams = make();
      const group = FlatParameters.adopt(flatParams);
      const a = new SGD(separate, options);
      const b = new SGD(flatParams, options);
      expect(a.flat).toBeNull();
      expect(b.flat).toBe(group);
      for (let step = 0; step < 3; step++) {
        if (step === 2) a.lr = b.lr = options.lr / 2;
        SHAPES.forEach((s, i) => separate[i].setGrad(Tensor.normal(s, { seed: 100 * step + i }, { backend: cpu() })));
        // A flat parameter's gradient lives in its view: write the same values there, as backward does.
        for (const [i, p] of flatParams.entries()) {
          const target = p.gradTarget!;
          const g = Tensor.normal(SHAPES[i], { seed: 100 * step + i }, { backend: cpu() });
          cpu().native.copy(target.handle, g.handle);
          g.dispose();
          p.receiveGrad(target);
        }
        a.step();
        b.step();
      }
      for (let i = 0; i < SHAPES.length; i++) {
        expect(await bits(flatParams[i].value), `p${i}`).toEqual(await bits(separate[i].value));
        if (a.buffers.length) expect(await bits(b.buffers[i]), `buffer ${i}`).toEqual(await bits(a.buffers[i]));
      }
      a.dispose();
      b.dispose();
      for (const p of [...separate, ...flatParams]) p.dispose();
      group.dispose();
    });
  }

  it('matches torch.optim.SGD (the fixtures of test/ops/sgd.test.ts, parameters flattened)', async () => {
    const fixture = loadFixture('ops/sgd');
    for (const c of fixture.cases as unknown as (SgdOptions & { name: string; steps: number; params: number })[]) {
      const get = (role: string) => fixture.get(`${c.name}.${role}`);
      const params = Array.from({ length: c.params }, (_, i) => new Parameter(`p${i}`, cpuTensor(get(`p${i}.initial`))));
      const group = FlatParameters.adopt(params);
      const optimizer = new SGD(params, {
        lr: c.lr,
        momentum: c.momentum,
        dampening: c.dampening,
        weightDecay: c.weightDecay,
        nesterov: c.nesterov,
      });
      expect(optimizer.flat).toBe(group);
      for (let step = 0; step < c.steps; step++) {
        for (const [i, p] of params.entries()) {
          const g = cpuTensor(get(`p${i}.grad${step}`));
          cpu().native.copy(p.gradTarget!.handle, g.handle);
          g.dispose();
          p.receiveGrad(p.gradTarget!);
        }
        optimizer.step();
        for (const [i, p] of params.entries()) {
          await expectTensorClose(`${c.name} step ${step} p${i}`, p.value.share(), get(`p${i}.after${step}`));
          if ((c.momentum ?? 0) > 0)
            await expectTensorClose(`${c.name} step ${step} buffer ${i}`, optimizer.buffers[i].share(), get(`p${i}.buffer${step}`));
        }
      }
      optimizer.dispose();
      for (const p of params) p.dispose();
      group.dispose();
    }
  });

  it('setBuffer copies into the flat momentum buffer', async () => {
    const params = [new Parameter('a', Tensor.zeros([5], { backend: cpu() })), new Parameter('b', Tensor.zeros([3], { backend: cpu() }))];
    const group = FlatParameters.adopt(params);
    const optimizer = new SGD(params, { lr: 0.1, momentum: 0.9 });
    const view = optimizer.buffers[1];
    optimizer.setBuffer(1, Tensor.fromArray([1, 2, 3]));
    expect(optimizer.buffers[1]).toBe(view);
    expect(Array.from(await view.toArray())).toEqual([1, 2, 3]);
    expect(() => optimizer.setBuffer(0, Tensor.zeros([4]))).toThrow(/value has shape \[4\], buffer 0 has \[5\]/);
    optimizer.dispose();
    for (const p of params) p.dispose();
    group.dispose();
  });
});
