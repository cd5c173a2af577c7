/**
 * AlexNet.replaceHead: a new output layer drawn exactly as a model built with that class count and
 * seed draws its own, the rest of the model untouched, the flat parameter buffers rebuilt around
 * the new parameter list, and the round trip from a checkpoint for another class count.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { loadModel, saveCheckpoint } from '../../lib/checkpoint/format';
import { createAlexNet, type AlexNet, type PresetName } from '../../lib/models/alexnet';
import type { InitScheme } from '../../lib/models/init';
import { Linear } from '../../lib/nn/linear';
import { Tensor } from '../../lib/tensor';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'alexnet-head-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function values(model: AlexNet): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const [name, p] of model.namedParameters()) out.set(name, Array.from(await p.value.toArray()));
  return out;
}

const cases: [PresetName, InitScheme | undefined][] = [
  ['torchvision', undefined],
  ['paper', undefined],
  ['keras-v2', undefined],
  ['d2l', 'kaiming'],
  ['seed-tf', 'truncated-normal'],
];

describe('AlexNet.replaceHead', () => {
  for (const [preset, init] of cases) {
    it(`${preset}${init ? ` (${init})` : ''}: the new head is the one a model built with that class count and seed has`, async () => {
      const common = { preset, width: 1 / 16, backend: 'cpu' as const, ...(init ? { init } : {}) };
      const model = createAlexNet({ ...common, numClasses: 10, seed: 1 });
      const reference = createAlexNet({ ...common, numClasses: 3, seed: 99 });
      const before = await values(model);
      const head = model.replaceHead(3, { seed: 99, classes: ['a', 'b', 'c'] });
      expect(head).toBeInstanceOf(Linear);
      expect(model.config.numClasses).toBe(3);
      expect(model.classes).toEqual(['a', 'b', 'c']);
      const after = await values(model);
      const expected = await values(reference);
      const headNames = [...after.keys()].slice(-2);
      expect(headNames.every((n) => n.startsWith('classifier.'))).toBe(true);
      for (const [name, v] of after) {
        if (headNames.includes(name)) expect(v, `${name}: drawn as the reference model's`).toEqual(expected.get(name));
        else expect(v, `${name}: unchanged`).toEqual(before.get(name));
      }
      // The flat buffers hold exactly the new parameter list, each a view of them.
      expect(model.flat.segments.map((s) => s.parameter)).toEqual(model.namedParameters().map(([, p]) => p));
      for (const [, p] of model.namedParameters()) expect(p.flat).toBe(model.flat);
      // Forward and backward work and write the gradients into the new buffers.
      const size = model.config.inputSize;
      const x = Tensor.uniform([2, model.config.inChannels, size, size], { low: 0, high: 1, seed: 3 }, { backend: 'cpu' });
      const logits = model.forward(x);
      expect(logits.shape).toEqual([2, 3]);
      model.backward(Tensor.full([2, 3], 0.1, { backend: 'cpu' }));
      for (const [name, p] of model.namedParameters()) expect(p.grad, name).not.toBeNull();
      const grads = (await model.flat.grads.toArray()) as Float32Array;
      expect(grads.some((v) => v !== 0)).toBe(true);
      for (const t of [x, logits]) t.dispose();
      model.dispose();
      reference.dispose();
    });
  }

  it('keeps frozen flags elsewhere; the new head is trainable', () => {
    const model = createAlexNet({ preset: 'torchvision', width: 1 / 16, numClasses: 10, seed: 1, backend: 'cpu' });
    model.freeze();
    model.replaceHead(4, { seed: 2 });
    const trainable = model
      .namedParameters()
      .filter(([, p]) => p.requiresGrad)
      .map(([n]) => n);
    expect(trainable).toEqual(['classifier.6.weight', 'classifier.6.bias']);
    expect(model.classes).toBeNull();
    model.dispose();
  });

  it('rejects bad arguments by name, changing nothing', () => {
    const model = createAlexNet({ preset: 'torchvision', width: 1 / 16, numClasses: 10, seed: 1, backend: 'cpu' });
    const flat = model.flat;
    expect(() => model.replaceHead(0)).toThrow(/numClasses/);
    expect(() => model.replaceHead(2.5)).toThrow(/numClasses/);
    expect(() => model.replaceHead(3, { classes: ['a'] })).toThrow(/classes has 1 names for 3 classes/);
    expect(() => model.replaceHead(3, { seed: -1 })).toThrow(/seed/);
    expect(() => model.replaceHead(3, { sede: 1 } as never)).toThrow(/sede/);
    expect(model.flat).toBe(flat);
    expect(model.config.numClasses).toBe(10);
    model.dispose();
  });

  it('a checkpoint for 10 classes loads, takes a 3-class head, and saves and loads as a 3-class model', async () => {
    const source = createAlexNet({ preset: 'torchvision', width: 1 / 16, numClasses: 10, seed: 7, backend: 'cpu' });
    const file10 = path.join(tmp, 'ten.safetensors');
    await saveCheckpoint(file10, source);
    const model = await loadModel(file10, { backend: 'cpu' });
    model.replaceHead(3, { seed: 5, classes: ['x', 'y', 'z'] });
    const file3 = path.join(tmp, 'three.safetensors');
    await saveCheckpoint(file3, model);
    const reloaded = await loadModel(file3, { backend: 'cpu' });
    expect(reloaded.config.numClasses).toBe(3);
    expect(reloaded.classes).toEqual(['x', 'y', 'z']);
    const a = await values(source);
    const b = await values(reloaded);
    for (const [name, v] of b) {
      if (name.startsWith('classifier.6.')) expect(v.length).toBe(name.endsWith('weight') ? 3 * 256 : 3);
      else expect(v, name).toEqual(a.get(name));
    }
    for (const m of [source, model, reloaded]) m.dispose();
  });
});
