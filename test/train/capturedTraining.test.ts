/**
 * Captured training on the CPU build, whose graphs are recordings of its queue (native/cpu/
 * backend_cpu.cc): the same logic that captures and replays CUDA graphs, run for real. Every step
 * must give the same bits as a plain step: losses, logits, parameters, momentum buffers, step
 * counts and dropout offsets, through a learning-rate change, a Parameter.set in the middle of the
 * run (a checkpoint load copies into the flat buffers, so the graph stays valid), a batch of
 * another size (its own warm-up and graph) and back. Also the inference forward, and a capture the
 * backend refuses (an upload inside the step): one line logged, plain steps, the same results.
 */
import { describe, expect, it } from 'vitest';

import { getBackend } from '../../lib/backend/backend';
import { createAlexNet, type AlexNet, type PresetName } from '../../lib/models/alexnet';
import { dropoutLayers } from '../../lib/training/resume';
import { AdamW } from '../../lib/optim/adamw';
import { SGD } from '../../lib/optim/sgd';
import { Tensor } from '../../lib/tensor';
import { InferenceRunner, TrainStepper, trainStep } from '../../lib/training/step';
import { nativeGraphs, StepCapture, type CapturableStep } from '../../lib/training/stepCapture';

const backend = () => getBackend('cpu');
const SIZE = 67;

function build(preset: PresetName): { model: AlexNet; optimizer: SGD } {
  const model = createAlexNet({ preset, width: 1 / 16, inputSize: SIZE, inChannels: 3, numClasses: 10, seed: 11, backend: 'cpu' });
  const optimizer = new SGD(
    model.namedParameters().map(([, p]) => p),
    { lr: 0.05, momentum: 0.9, weightDecay: 5e-4, nesterov: true },
  );
  return { model, optimizer };
}

function batch(step: number, n: number): { images: Tensor; labels: Tensor } {
  return {
    images: Tensor.normal([n, 3, SIZE, SIZE], { seed: 1000 + step }, { backend: backend() }),
    labels: Tensor.fromArray(
      Array.from({ length: n }, (_, i) => (step * 3 + i) % 10),
      [n],
      { backend: backend(), dtype: 'int32' },
    ),
  };
}

async function bits(t: Tensor): Promise<Uint32Array> {
  const values = (await t.toArray()) as Float32Array;
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

async function expectSameBits(what: string, a: Tensor, b: Tensor): Promise<void> {
  const [x, y] = await Promise.all([bits(a), bits(b)]);
  expect(x.length, `${what}: element count`).toBe(y.length);
  const first = x.findIndex((v, i) => v !== y[i]);
  expect(first, `${what}: first differing element`).toBe(-1);
}

// Batch sizes per step: a shape change in the middle, and back (each shape warms up and captures on its own).
const SIZES = [4, 4, 4, 4, 4, 3, 3, 3, 3, 4, 4, 4];

describe('a captured training step gives the bits of a plain one (CPU recording)', () => {
  for (const preset of ['d2l', 'torchvision', 'paper'] as const) {
    it(`${preset}: ${SIZES.length} steps with a learning-rate change, a Parameter.set and a batch-size change`, async () => {
      const plain = build(preset);
      const captured = build(preset);
      const stepper = new TrainStepper(captured.model, captured.optimizer, { log: (l) => expect.fail(l) });
      const phases: string[] = [];
      for (const [step, n] of SIZES.entries()) {
        if (step === 4) {
          plain.optimizer.lr = captured.optimizer.lr = 0.01; // a schedule's change: the graph reads it from device memory
        }
        if (step === 7) {
          // What loading a checkpoint does: Parameter.set copies into the flat buffers.
          for (const { model } of [plain, captured]) {
            const [, p] = model.namedParameters()[2];
            p.set(Tensor.full(p.value.shape, 0.01, { backend: backend() }));
          }
        }
        const { images, labels } = batch(step, n);
        phases.push(stepper.capture.phaseFor([images, labels]));
        const a = trainStep(plain.model, plain.optimizer, images, labels);
        const b = stepper.step(images, labels);
        await expectSameBits(`step ${step} loss`, a.loss, b.loss);
        await expectSameBits(`step ${step} logits`, a.logits, b.logits);
        for (const t of [a.loss, a.logits, b.loss, b.logits, images, labels]) t.dispose();
      }
      // Shape 4: eager, pool, capture, replay x2; shape 3: eager, pool, capture, replay; shape 4 again: replay x3.
      expect(phases).toEqual([
        'eager',
        'pool',
        'capture',
        'replay',
        'replay',
        'eager',
        'pool',
        'capture',
        'replay',
        'replay',
        'replay',
        'replay',
      ]);
      await expectSameBits('parameters', plain.model.flat.values, captured.model.flat.values);
      for (const [i, buffer] of plain.optimizer.buffers.entries()) {
        await expectSameBits(`momentum buffer ${i}`, buffer, captured.optimizer.buffers[i]);
      }
      expect(captured.optimizer.steps).toBe(plain.optimizer.steps);
      const offsets = (m: AlexNet) => dropoutLayers(m).map(([, d]) => d.offset);
      expect(offsets(captured.model)).toEqual(offsets(plain.model));
      // The offsets also moved on the device as in JavaScript: one more plain step on each gives the same bits.
      const { images, labels } = batch(99, 4);
      const a = trainStep(plain.model, plain.optimizer, images, labels);
      const b = trainStep(captured.model, captured.optimizer, images, labels);
      await expectSameBits('a plain step after the replays', a.loss, b.loss);
      stepper.dispose();
      for (const t of [a.loss, a.logits, b.loss, b.logits, images, labels]) t.dispose();
      for (const { model, optimizer } of [plain, captured]) {
        optimizer.dispose();
        model.dispose();
      }
    });
  }

  it('AdamW with two parameter groups: a schedule step, and a parameter frozen half-way (a new capture without it)', async () => {
    const make = () => {
      const model = createAlexNet({
        preset: 'd2l',
        width: 1 / 16,
        inputSize: SIZE,
        inChannels: 3,
        numClasses: 10,
        seed: 12,
        backend: 'cpu',
      });
      const named = model.namedParameters();
      const optimizer = new AdamW(
        [
          { params: named.filter(([n]) => n.startsWith('features.')).map(([, p]) => p), lr: 1e-3 },
          { params: named.filter(([n]) => !n.startsWith('features.')).map(([, p]) => p), betas: [0.8, 0.99] },
        ],
        { lr: 3e-3, weightDecay: 0.05 },
      );
      return { model, optimizer };
    };
    const plain = make();
    const captured = make();
    const stepper = new TrainStepper(captured.model, captured.optimizer, { log: (l) => expect.fail(l) });
    const phases: string[] = [];
    for (let step = 0; step < 12; step++) {
      if (step === 4) for (const { optimizer } of [plain, captured]) optimizer.scaleLr(0.5);
      if (step === 7) for (const { model } of [plain, captured]) model.namedParameters()[0][1].requiresGrad = false;
      const { images, labels } = batch(step, 4);
      phases.push(stepper.capture.phaseFor([images, labels]));
      const a = trainStep(plain.model, plain.optimizer, images, labels);
      const b = stepper.step(images, labels);
      await expectSameBits(`step ${step} loss`, a.loss, b.loss);
      for (const t of [a.loss, a.logits, b.loss, b.logits, images, labels]) t.dispose();
    }
    expect(phases.slice(0, 7)).toEqual(['eager', 'pool', 'capture', 'replay', 'replay', 'replay', 'replay']);
    expect(phases.slice(7)).toContain('replay'); // the freeze changed the optimizer's runs: a graph of its own
    await expectSameBits('parameters', plain.model.flat.values, captured.model.flat.values);
    for (const [i, p] of plain.model.namedParameters().entries()) {
      const q = captured.model.namedParameters()[i][1];
      for (const [slot, t] of Object.entries(plain.optimizer.stateOf(p[1]) ?? {}))
        await expectSameBits(`${p[0]} ${slot}`, t, captured.optimizer.stateOf(q)![slot]);
    }
    expect(captured.optimizer.getState().paramSteps).toEqual(plain.optimizer.getState().paramSteps);
    expect(plain.optimizer.getState().paramSteps[0]).toBe(7);
    stepper.dispose();
    for (const { model, optimizer } of [plain, captured]) {
      optimizer.dispose();
      model.dispose();
    }
  });

  it('inference: the captured forward gives the logits of a plain forward, per batch size', async () => {
    const { model, optimizer } = build('paper');
    model.eval();
    const runner = new InferenceRunner(model, { log: (l) => expect.fail(l) });
    for (const [step, n] of [2, 2, 2, 2, 1, 1, 1, 1, 2].entries()) {
      const { images, labels } = batch(step, n);
      const plainLogits = model.forward(images);
      const logits = runner.forward(images);
      await expectSameBits(`forward ${step}`, plainLogits, logits);
      for (const t of [plainLogits, logits, images, labels]) t.dispose();
    }
    expect(runner.capture.graphCount).toBe(2);
    runner.dispose();
    optimizer.dispose();
    model.dispose();
  });

  it('a capture the backend refuses falls back to plain steps with one logged line', async () => {
    const lines: string[] = [];
    const { model, optimizer } = build('d2l');
    const shadow = build('d2l');
    // A step that uploads inside itself, which a graph cannot hold.
    const step: CapturableStep<{ loss: Tensor }> = {
      structureKey: () => 'uploading step',
      prepare: () => optimizer.syncScalars(),
      run: ([images, labels]) => {
        Tensor.fromArray([1, 2, 3]).dispose();
        const { loss, logits } = trainStep(model, optimizer, images, labels);
        logits.dispose();
        return { loss };
      },
      saveState: () => {
        const steps = optimizer.steps;
        const offsets = dropoutLayers(model).map(([, d]) => d.offset);
        return () => {
          optimizer.steps = steps;
          optimizer.invalidateScalars();
          dropoutLayers(model).forEach(([, d], i) => {
            d.offset = offsets[i]!;
            d.invalidateScalars();
          });
        };
      },
      replayEffects: () => () => {},
    };
    const capture = new StepCapture(step, { graphs: nativeGraphs(backend()), log: (l) => lines.push(l) });
    for (let i = 0; i < 5; i++) {
      const { images, labels } = batch(i, 2);
      const { loss } = capture.run([images, labels]);
      const reference = trainStep(shadow.model, shadow.optimizer, images, labels);
      await expectSameBits(`step ${i}`, loss, reference.loss);
      for (const t of [loss, reference.loss, reference.logits, images, labels]) t.dispose();
    }
    expect(lines).toEqual([
      expect.stringMatching(/^step capture failed, running without a graph \(upload is not allowed during a graph capture\)$/),
    ]);
    expect(capture.phaseFor([Tensor.empty([2, 3, SIZE, SIZE]), Tensor.empty([2], { dtype: 'int32' })])).toBe('failed');
    capture.dispose();
    for (const m of [{ model, optimizer }, shadow]) {
      m.optimizer.dispose();
      m.model.dispose();
    }
  });
});
