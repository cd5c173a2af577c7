/**
 * One model, one job at a time (issue 10, item 6): overlapping predict() calls used to run one of
 * them with dropout on and leave the model in evaluation mode; an evaluation forward between a
 * training forward and its backward cleared (or, for dropout, bypassed) what backward needed; two
 * interleaved training steps mixed their saved activations. See lib/models/modelUse.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';

import { explain, prepareProbes, probeData, runProbe, type ProbeCase } from './support/probes';

beforeAll(async () => {
  prepareProbes();
  await probeData();
}, 120_000);

async function probe(make: () => Omit<ProbeCase, 'concern'>): Promise<void> {
  const result = await runProbe({ timeoutMs: 60_000, concern: 'concurrency', ...make() });
  expect(result.outcome, explain(result)).toBe('ok');
}

/** A d2l model (dropout 0.5 in its classifier) in training mode, and a batch of synthetic images. */
const SETUP = `
  const make = () => lib.createAlexNet({ preset: 'd2l', width: 0.125, inputSize: 68, numClasses: 4, seed: 11, backend: 'cpu' });
  const images = Array.from({ length: 4 }, (_, i) => ({ channels: 1, height: 68, width: 68, data: Float32Array.from({ length: 68 * 68 }, (_, j) => ((j * (i + 3)) % 97) / 97) }));
  const modes = (m) => { const all = []; const walk = (x) => { all.push(x.training); for (const [, c] of x.children()) walk(c); }; walk(m); return all; };
  const same = (a, b) => a.length === b.length && a.every((p, i) => p.index === b[i].index && p.probability === b[i].probability);
`;

describe.concurrent('one model, one job at a time', () => {
  it('overlapping predict() calls give the evaluation-mode answer and leave the model in training mode', () =>
    probe(() => ({
      name: 'overlapping predicts',
      script: `${SETUP}
        const model = make();
        const alone = await lib.predict(make().eval(), images, { preprocessing: [] });
        const [a, b, c] = await Promise.all([0, 1, 2].map(() => lib.predict(model, images, { preprocessing: [] })));
        if (!same(a, alone) || !same(b, alone) || !same(c, alone)) throw new Error('an overlapping predict differs from evaluation mode (dropout on?)');
        if (!modes(model).every((t) => t === true)) throw new Error('predict changed the model\\'s mode: ' + modes(model));
        console.log('three overlapping predicts agree; mode kept');`,
      stdout: /three overlapping predicts agree; mode kept/,
    })));

  it('predict while the model trains is rejected at once with a ModelBusyError (and fit while predicting)', () =>
    probe(() => ({
      name: 'predict during fit, fit during predict',
      script: `${SETUP}
        const model = make();
        const ds = new lib.ArrayDataset({ images: new Uint8Array(32 * 784), labels: Array.from({ length: 32 }, (_, i) => i % 4), shape: [1, 28, 28], classes: ['a', 'b', 'c', 'd'] });
        const fitting = new lib.Trainer(model).fit(ds, null, { epochs: 2, batchSize: 8, progress: 'none', trainTransform: [{ kind: 'resize', size: 68 }], handleSignals: false });
        const during = await lib.predict(model, images, { preprocessing: [] }).then(() => null, (e) => e);
        await fitting;
        const predicting = lib.predict(model, images, { preprocessing: [] });
        const fitDuring = await new lib.Trainer(model).fit(ds, null, { epochs: 1, batchSize: 8, progress: 'none', trainTransform: [{ kind: 'resize', size: 68 }] }).then(() => null, (e) => e);
        await predicting;
        if (!during || during.name !== 'ModelBusyError') throw new Error('predict during fit: ' + during);
        throw fitDuring ?? new Error('fit during predict was not rejected');`,
      error: /^ModelBusyError: Trainer\.fit: the model is busy with predict; one model runs one job at a time/,
    })));

  it('predict() inside a fit callback (a preview each epoch) is allowed: fit waits for it', () =>
    probe(() => ({
      name: 'predict in onEpoch',
      script: `${SETUP}
        const model = make();
        const ds = new lib.ArrayDataset({ images: new Uint8Array(16 * 784), labels: Array.from({ length: 16 }, (_, i) => i % 4), shape: [1, 28, 28], classes: ['a', 'b', 'c', 'd'] });
        const previews = [];
        await new lib.Trainer(model).fit(ds, null, { epochs: 2, batchSize: 8, progress: 'none', trainTransform: [{ kind: 'resize', size: 68 }], handleSignals: false,
          callbacks: { onEpoch: async () => { previews.push((await lib.predict(model, images.slice(0, 1), { preprocessing: [] }))[0].label); } } });
        if (!modes(model).every((t) => t === true)) throw new Error('the mode changed');
        console.log('previews: ' + previews.length);`,
      stdout: /previews: 2/,
    })));

  it("a second training-mode forward before the first one's backward is an error, not mixed activations", () =>
    probe(() => ({
      name: 'interleaved training steps',
      script: `${SETUP}
        const model = make();
        const x = lib.Tensor.fromArray(images.flatMap((im) => [...im.data]), [4, 1, 68, 68], { backend: 'cpu' });
        model.forward(x).dispose();
        model.forward(x);`,
      error: /^Error: AlexNet\.forward: the previous training-mode forward still waits for its backward/,
    })));

  it("predict between a training forward and its backward leaves that step's gradients exactly as without it", () =>
    probe(() => ({
      name: 'predict inside a training step',
      script: `${SETUP}
        const x = lib.Tensor.fromArray(images.flatMap((im) => [...im.data]), [4, 1, 68, 68], { backend: 'cpu' });
        const labels = lib.Tensor.fromArray(new Int32Array([0, 1, 2, 3]), [4], { backend: 'cpu' });
        const step = async (model, between) => {
          const logits = model.forward(x);
          await between(model);
          const { loss, gradLogits } = lib.ops.softmaxCrossEntropy(logits, labels, { withGrad: true });
          model.backward(gradLogits);
          return Promise.all(model.namedParameters().map(([, p]) => p.grad.toArray()));
        };
        const plain = await step(make(), async () => {});
        const interrupted = await step(make(), (m) => lib.predict(m, images, { preprocessing: [] }));
        plain.forEach((g, i) => { if (!g.every((v, j) => Object.is(v, interrupted[i][j]))) throw new Error('gradient ' + i + ' changed'); });
        console.log('gradients identical');`,
      stdout: /gradients identical/,
    })));
});
