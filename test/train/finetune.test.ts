/**
 * Fine-tuning in fit: frozen parameters stay as they were while the rest trains, the trainable set
 * is fixed while a fit runs (freeze, unfreeze and replaceHead are refused from its callbacks), a
 * captured step is re-keyed when the frozen set changes, and early stopping (its verdicts, its
 * errors, and restoring the best weights).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { createAlexNet, type AlexNet } from '../../lib/models/alexnet';
import { ModelBusyError } from '../../lib/models/modelUse';
import { SGD } from '../../lib/optim/sgd';
import { EarlyStopping } from '../../lib/training/earlyStopping';
import type { EpochRecord } from '../../lib/training/epochRecord';
import { TrainStepProgram } from '../../lib/training/step';
import { Trainer, type FitOptions } from '../../lib/training/trainer';
import { expectSameBits } from '../checkpoint/bits';
import { syntheticDataset, SYNTHETIC_CLASSES } from './synthetic';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'alexnet-finetune-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function floats(model: AlexNet): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [name, p] of model.namedParameters()) out.set(name, (await p.value.toArray()) as Float32Array);
  return out;
}

const tiny = (seed = 1): AlexNet =>
  createAlexNet({
    preset: 'd2l',
    width: 0.0625,
    inputSize: 68,
    numClasses: SYNTHETIC_CLASSES.length,
    init: 'kaiming',
    seed,
    backend: 'cpu',
  });
const resize = [{ kind: 'resize' as const, size: 68 }];
const base: FitOptions = {
  epochs: 2,
  batchSize: 16,
  optimizer: { lr: 0.02, momentum: 0.9, weightDecay: 1e-3 },
  trainTransform: resize,
  evalTransform: resize,
  progress: 'none',
  handleSignals: false,
};

async function weights(model: AlexNet): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const [name, p] of model.namedParameters()) out.set(name, Array.from(await p.value.toArray()));
  return out;
}

describe('fit with frozen parameters', () => {
  it('frozen features keep their values (momentum and weight decay included); the classifier trains', async () => {
    const model = tiny();
    model.freeze('features');
    const before = await weights(model);
    const result = await new Trainer(model).fit(syntheticDataset(96, 1), syntheticDataset(32, 2), base);
    expect(result.steps).toBe(12);
    const after = await weights(model);
    for (const [name, v] of after) {
      if (name.startsWith('features.')) expect(v, `${name}: frozen`).toEqual(before.get(name));
      else expect(v, `${name}: trained`).not.toEqual(before.get(name));
    }
    for (const [name, p] of model.namedParameters()) if (name.startsWith('features.')) expect(p.grad, name).toBeNull();
    model.dispose();
  });

  it('a stopped run with frozen features resumes to the uninterrupted result bit for bit (early stopping included)', async () => {
    const train = syntheticDataset(100, 4);
    const val = syntheticDataset(32, 5);
    const options: FitOptions = { ...base, epochs: 3, seed: 9, earlyStopping: { metric: 'valTop1', patience: 5 } };
    const straight = tiny(3).freeze('features');
    const whole = await new Trainer(straight).fit(train, val, options);
    const dir = path.join(tmp, 'resume');
    const first = tiny(3).freeze('features');
    const stopped = await new Trainer(first).fit(train, val, { ...options, checkpointDir: dir, stopAfterSteps: 10 });
    expect(stopped.interrupted).toBe('stopAfterSteps');
    first.dispose();
    const second = tiny(99).freeze('features');
    const resumed = await new Trainer(second).fit(train, val, { ...options, checkpointDir: dir, resume: dir });
    expect(resumed.steps).toBe(whole.steps);
    expectSameBits(await floats(second), await floats(straight));
    straight.dispose();
    second.dispose();
  });

  it('every parameter frozen is an error naming what to do', async () => {
    const model = tiny();
    model.freeze();
    await expect(new Trainer(model).fit(syntheticDataset(32, 1), null, base)).rejects.toThrow(
      /every parameter of the model is frozen; unfreeze some/,
    );
    model.dispose();
  });

  it('freeze, unfreeze and replaceHead are refused from a callback; a directly assigned flag fails the fit', async () => {
    const model = tiny();
    const seen: unknown[] = [];
    await new Trainer(model).fit(syntheticDataset(32, 1), null, {
      ...base,
      epochs: 1,
      callbacks: {
        onBatch: () => {
          for (const change of [() => model.freeze('features'), () => model.unfreeze(), () => model.replaceHead(2)]) {
            try {
              change();
              seen.push('no error');
            } catch (error) {
              seen.push(error);
            }
          }
        },
      },
    });
    expect(seen.length).toBe(6);
    for (const e of seen) expect(e).toBeInstanceOf(ModelBusyError);
    expect((seen[0] as Error).message).toMatch(/freeze: parameter features\.0\.weight is being trained by Trainer\.fit/);
    expect(model.trainableParameterCount()).toBe(model.parameterCount());
    // The lock is released when the fit ends.
    model.freeze('features').unfreeze();

    const fit = new Trainer(model).fit(syntheticDataset(64, 1), null, {
      ...base,
      epochs: 1,
      callbacks: { onBatch: ({ batch }) => void (batch === 0 && (model.namedParameters()[0][1].requiresGrad = false)) },
    });
    await expect(fit).rejects.toThrow(/requiresGrad of features\.0\.weight changed during training; freeze or unfreeze before calling fit/);
    model.dispose();
  });

  it('a captured training step is re-keyed when the frozen set changes', () => {
    const model = tiny();
    const sgd = new SGD(
      model.namedParameters().map(([, p]) => p),
      { lr: 0.1 },
    );
    const program = new TrainStepProgram(model, sgd);
    const key = program.structureKey();
    expect(key).not.toBeNull();
    model.freeze('classifier');
    const frozen = program.structureKey();
    expect(frozen).not.toBe(key);
    model.unfreeze();
    expect(program.structureKey()).not.toBe(frozen);
    sgd.dispose();
    model.dispose();
  });
});

function record(epoch: number, valLoss: number | null, valTop1: number | null = null): EpochRecord {
  return {
    epoch,
    trainLoss: 1,
    trainTop1: 0,
    trainTop5: 0,
    valLoss,
    valTop1,
    valTop5: null,
    lr: 0.1,
    steps: epoch,
    seconds: 1,
    imagesPerSecond: 1,
  };
}

describe('early stopping', () => {
  it('the rule: improvements beyond minDelta reset the count; patience epochs without one stop', () => {
    const rule = new EarlyStopping({ metric: 'valLoss', patience: 2, minDelta: 0.05 });
    const losses = [1.0, 0.9, 0.88, 0.87, 0.8];
    const verdicts = losses.map((_, i) => rule.observe(losses.slice(0, i + 1).map((v, e) => record(e, v))));
    expect(verdicts.map((v) => v.improved)).toEqual([true, true, false, false, true]);
    expect(verdicts.map((v) => v.stop === null)).toEqual([true, true, true, false, true]);
    expect(verdicts[3].stop).toMatch(
      /valLoss did not improve on its best \(0\.9000 after epoch 2\) by more than 0\.05 for 2 epochs \(patience 2\)/,
    );
    // Accuracies are maximized by default; null (no validation) and NaN never improve.
    const acc = new EarlyStopping({ metric: 'valTop1', patience: 1 });
    expect(acc.mode).toBe('max');
    expect(acc.observe([record(0, 1, 0.5), record(1, 1, 0.6)]).improved).toBe(true);
    expect(acc.observe([record(0, 1, 0.5), record(1, 1, NaN)]).stop).not.toBeNull();
    expect(new EarlyStopping({ patience: 0 }).observe([record(0, 1), record(1, 1)]).stop).not.toBeNull();
  });

  it('bad options are errors naming the option', () => {
    expect(() => new EarlyStopping({ metric: 'accuracy' as never })).toThrow(
      /earlyStopping\.metric must be one of valLoss, valTop1, valTop5/,
    );
    expect(() => new EarlyStopping({ patience: -1 })).toThrow(/earlyStopping\.patience/);
    expect(() => new EarlyStopping({ minDelta: -0.1 })).toThrow(/earlyStopping\.minDelta/);
    expect(() => new EarlyStopping({ mode: 'up' as never })).toThrow(/earlyStopping\.mode/);
    expect(() => new EarlyStopping({ restoreBest: 1 as never })).toThrow(/earlyStopping\.restoreBest/);
    expect(() => new EarlyStopping({ patient: 3 } as never)).toThrow(/patient/);
  });

  it('fit stops when the validation loss stops improving and says why', async () => {
    const model = tiny();
    // lr 0: nothing changes, so the validation loss never improves after the first epoch.
    const result = await new Trainer(model).fit(syntheticDataset(32, 1), syntheticDataset(32, 2), {
      ...base,
      optimizer: { lr: 0 },
      epochs: 6,
      earlyStopping: { metric: 'valLoss', patience: 2 },
    });
    expect(result.history.length).toBe(3);
    expect(result.interrupted).toBeNull();
    expect(result.earlyStop).toMatchObject({ metric: 'valLoss', epoch: 2, bestEpoch: 0, restoredBest: false });
    expect(result.earlyStop!.reason).toMatch(/valLoss did not improve .* for 2 epochs \(patience 2\)/);
    model.dispose();
  });

  it("restoreBest puts the best epoch's weights back", async () => {
    const model = tiny();
    const atEpoch: Map<string, number[]>[] = [];
    // 'max' on the loss: the first epoch (the highest loss, as training lowers it) is the best.
    const result = await new Trainer(model).fit(syntheticDataset(64, 1), syntheticDataset(32, 2), {
      ...base,
      epochs: 5,
      earlyStopping: { metric: 'valLoss', mode: 'max', patience: 2, restoreBest: true },
      callbacks: { onEpoch: async () => void atEpoch.push(await weights(model)) },
    });
    expect(result.history.length).toBe(3);
    expect(result.history[1].valLoss!).toBeLessThan(result.history[0].valLoss!);
    expect(result.earlyStop).toMatchObject({ bestEpoch: 0, epoch: 2, restoredBest: true });
    expect(await weights(model)).toEqual(atEpoch[0]);
    expect(atEpoch[2]).not.toEqual(atEpoch[0]);
    model.dispose();
  });

  it('needs a validation set', async () => {
    const model = tiny();
    await expect(new Trainer(model).fit(syntheticDataset(32, 1), null, { ...base, earlyStopping: {} })).rejects.toThrow(
      /earlyStopping watches valLoss, which needs a validation set/,
    );
    model.dispose();
  });
});
