import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';

import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';

import { ArrayDataset } from '../../lib/data/arrayDataset';
import { CheckpointDirectory } from '../../lib/checkpoint/directory';
import { createAlexNet, type AlexNet } from '../../lib/models/alexnet';
import { stepLR } from '../../lib/optim/schedules';
import { TrainingDivergedError } from '../../lib/training/divergence';
import type { EpochRecord } from '../../lib/training/epochRecord';
import { Trainer, type BatchInfo, type FitOptions } from '../../lib/training/trainer';
import { expectSameBits } from '../checkpoint/bits';
import { syntheticDataset, SYNTHETIC_CLASSES } from './synthetic';

const backend = 'cpu' as const;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'alexnet-trainer-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const tiny = (seed = 1): AlexNet =>
  createAlexNet({ preset: 'd2l', width: 0.0625, inputSize: 68, numClasses: SYNTHETIC_CLASSES.length, init: 'kaiming', seed, backend });
const resize = [{ kind: 'resize' as const, size: 68 }];
const base: FitOptions = {
  epochs: 2,
  batchSize: 16,
  optimizer: { lr: 0.02, momentum: 0.9 },
  trainTransform: resize,
  evalTransform: resize,
  progress: 'none',
  handleSignals: false,
};

async function weights(model: AlexNet): Promise<Map<string, Float32Array>> {
  return new Map(await Promise.all(model.namedParameters().map(async ([n, p]) => [n, (await p.value.toArray()) as Float32Array] as const)));
}

describe('Trainer', () => {
  it('learns, reports per-epoch metrics, calls back, logs JSON lines and draws the curves', async () => {
    const train = syntheticDataset(160, 1);
    const val = syntheticDataset(64, 2);
    const model = tiny();
    const batches: BatchInfo[] = [];
    const epochs: EpochRecord[] = [];
    const output = new PassThrough();
    let printed = '';
    output.on('data', (c: Buffer) => (printed += c.toString()));
    const metricsLog = path.join(tmp, 'run1', 'metrics.jsonl');
    const curves = path.join(tmp, 'run1', 'curves.png');
    let firstLoss = NaN;
    const result = await new Trainer(model).fit(train, val, {
      ...base,
      epochs: 3,
      schedule: stepLR({ stepSize: 1, gamma: 0.5 }),
      metricsLog,
      curves,
      progress: 'lines',
      output,
      logEverySteps: 3,
      callbacks: {
        onBatch: async (b) => {
          batches.push({ ...b });
          if (b.step === 1) firstLoss = (await b.loss.toArray())[0]!;
        },
        onEpoch: (r) => void epochs.push(r),
      },
    });
    expect(result.interrupted).toBeNull();
    expect(result.steps).toBe(30);
    expect(batches.map((b) => b.step)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(batches.filter((b) => b.epoch === 2).every((b) => Math.abs(b.lr - 0.005) < 1e-12)).toBe(true);
    expect(epochs).toEqual(result.history);
    const last = result.history.at(-1)!;
    expect(last.trainLoss).toBeLessThan(firstLoss);
    expect(last.valTop1).toBeGreaterThan(0.9); // the bars are easy
    expect(last.valTop5).toBe(1); // four classes: top-5 is everything
    expect(printed).toMatch(/^epoch 3\/3 {2}train loss \d\.\d{4} top1 [\d.]+ top5 [\d.]+ {2}val loss/m);
    const records = readFileSync(metricsLog, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    expect(records[0].type).toBe('start');
    expect(records.filter((r) => r.type === 'epoch')).toHaveLength(3);
    expect(records.filter((r) => r.type === 'step').length).toBeGreaterThan(3);
    expect(records.at(-1)!.type).toBe('end');
    const png = await sharp(readFileSync(curves)).metadata();
    expect([png.format, png.width, png.height]).toEqual(['png', 960, 420]);
    expect(model.classes).toEqual(SYNTHETIC_CLASSES);
    expect(model.preprocessing).toEqual(resize);
  });

  it('stops on a NaN or infinite loss, naming the first bad step', async () => {
    // A learning rate this large makes the loss overflow within a few steps; the callback reads every
    // step's loss (the Trainer itself only reads sums at logging points) to know which step was first.
    const losses: number[] = [];
    const model = tiny(2);
    const error = await new Trainer(model)
      .fit(syntheticDataset(320, 3), null, {
        ...base,
        epochs: 3,
        optimizer: { lr: 1e4, momentum: 0.9 },
        logEverySteps: 4,
        callbacks: { onBatch: async (b) => void losses.push((await b.loss.toArray())[0]) },
      })
      .catch((e: unknown) => e);
    const firstBad = losses.findIndex((l) => !Number.isFinite(l)) + 1;
    expect(firstBad).toBeGreaterThan(0);
    expect(error).toBeInstanceOf(TrainingDivergedError);
    expect((error as TrainingDivergedError).step).toBe(firstBad);
    const batch = (firstBad - 1) % 20;
    const epoch = Math.floor((firstBad - 1) / 20) + 1;
    expect((error as Error).message).toMatch(
      new RegExp(`the training loss became (NaN|-?Infinity) at step ${firstBad} \\(epoch ${epoch}, batch ${batch}, lr 10000\\)`),
    );
    // It stopped soon after: within one logging interval and the steps in flight.
    expect(losses.length - firstBad).toBeLessThanOrEqual(4 + 2);
  });

  it.each([
    ['SGD', { lr: 0.02, momentum: 0.9, weightDecay: 1e-4 }],
    ['Adam', { type: 'adam', lr: 2e-3, weightDecay: 1e-4 }],
    ['AdamW', { type: 'adamw', lr: 2e-3, betas: [0.8, 0.99], weightDecay: 0.05 }],
  ] as [string, FitOptions['optimizer']][])(
    'stops after a given step with a checkpoint, and resuming gives the uninterrupted result bit for bit (%s)',
    async (name, optimizer) => {
      const train = syntheticDataset(100, 4); // 7 batches of 16, the last one of 4
      const val = syntheticDataset(32, 5);
      const options: FitOptions = { ...base, epochs: 2, optimizer, seed: 9, schedule: stepLR({ stepSize: 1 }) };
      const straight = tiny(3);
      const whole = await new Trainer(straight).fit(train, val, options);

      const dir = path.join(tmp, `resume-${name}`);
      const first = tiny(3);
      const stopped = await new Trainer(first).fit(train, val, { ...options, checkpointDir: dir, stopAfterSteps: 10 });
      expect(stopped.interrupted).toBe('stopAfterSteps');
      expect(stopped.steps).toBe(10);
      expect(stopped.checkpoint).toBe(new CheckpointDirectory(dir).fileFor(1, 10));
      first.dispose();

      const second = tiny(99); // different initial weights: everything must come from the checkpoint
      const resumed = await new Trainer(second).fit(train, val, { ...options, checkpointDir: dir, resume: dir });
      expect(resumed.steps).toBe(14);
      expectSameBits(await weights(second), await weights(straight));
      // The epoch metrics match too: the checkpoint carried epoch 2's partial sums.
      const strip = (r: EpochRecord) => ({ ...r, seconds: 0, imagesPerSecond: 0 });
      expect(resumed.history.map(strip)).toEqual(whole.history.map(strip));
      // Keeps the last three and the best.
      expect((await new CheckpointDirectory(dir).list()).map((e) => e.step)).toEqual([7, 10, 14]);
    },
  );

  it('refuses to resume with settings that would change the run', async () => {
    const train = syntheticDataset(40, 6);
    const dir = path.join(tmp, 'mismatch');
    await new Trainer(tiny(4)).fit(train, null, { ...base, epochs: 1, checkpointDir: dir });
    await expect(new Trainer(tiny(4)).fit(train, null, { ...base, batchSize: 8, resume: dir })).rejects.toThrow(
      /batch size 16; resume with the same batch size \(got 8\)/,
    );
    await expect(new Trainer(tiny(4)).fit(train, null, { ...base, seed: 3, resume: dir })).rejects.toThrow(/data seed 0/);
    await expect(
      new Trainer(createAlexNet({ preset: 'd2l', width: 0.125, inputSize: 68, numClasses: 4, backend })).fit(train, null, {
        ...base,
        resume: dir,
      }),
    ).rejects.toThrow(/saved from a model with width 0.0625, this one has 0.125/);
    await expect(new Trainer(tiny(4)).fit(train, null, { ...base, resume: path.join(tmp, 'nowhere') })).rejects.toThrow(
      /no such checkpoint file or folder/,
    );
    await expect(new Trainer(tiny(4)).fit(train, null, { ...base, optimizer: { type: 'adamw', lr: 1e-3 }, resume: dir })).rejects.toThrow(
      /the optimizer was saved as sgd, this one is adamw/,
    );
    await expect(new Trainer(tiny(4)).fit(train, null, { ...base, optimizer: { lr: 0.02, momentum: 0.5 }, resume: dir })).rejects.toThrow(
      /the optimizer was saved with momentum 0.9, this one has 0.5/,
    );
  });

  it('trains with AdamW, leaving frozen parameters as they were and giving them no state', async () => {
    const train = syntheticDataset(48, 8);
    const model = tiny(5);
    const frozen = model.namedParameters().filter(([n]) => n.startsWith('features.0.'));
    for (const [, p] of frozen) p.requiresGrad = false;
    const before = await weights(model);
    const trainer = new Trainer(model);
    await trainer.fit(train, null, { ...base, epochs: 1, optimizer: { type: 'adamw', lr: 1e-3 } });
    const after = await weights(model);
    expect(trainer.optimizer!.type).toBe('adamw');
    for (const [n, p] of model.namedParameters()) {
      const isFrozen = n.startsWith('features.0.');
      expect(trainer.optimizer!.stateOf(p) === null, `${n}: state`).toBe(isFrozen);
      if (isFrozen) expect(after.get(n), n).toEqual(before.get(n));
      else expect(after.get(n), n).not.toEqual(before.get(n));
    }
    model.dispose();
  });

  it('checks its arguments', async () => {
    const model = tiny(5);
    const trainer = new Trainer(model);
    const train = syntheticDataset(8, 7);
    await expect(trainer.fit(train, null, { ...base, epochs: 0 })).rejects.toThrow(/epochs must be a positive integer/);
    await expect(trainer.fit(train, null, { ...base, batchSize: 1.5 })).rejects.toThrow(/batchSize must be a positive integer/);
    await expect(trainer.fit(train, null, { ...base, seed: -1 })).rejects.toThrow(
      /seed must be a non-negative safe integer \(or a bigint\), got -1/,
    );
    const tenClasses = new ArrayDataset({
      images: new Uint8Array(784),
      labels: [0],
      shape: [1, 28, 28],
      classes: Array.from({ length: 10 }, String),
    });
    await expect(trainer.fit(tenClasses, null, base)).rejects.toThrow(/the model has 4 outputs but the training set has 10 classes/);
    expect(() => new Trainer({} as AlexNet)).toThrow(/model must be an AlexNet/);
  });

  it('evaluates in evaluation mode and restores the mode', async () => {
    const model = tiny(6);
    model.preprocessing = resize;
    const result = await new Trainer(model).evaluate(syntheticDataset(20, 8), { batchSize: 7 });
    expect(result.count).toBe(20);
    expect(result.top1).toBeGreaterThanOrEqual(0);
    expect(result.top5).toBe(1);
    expect(Number.isFinite(result.loss)).toBe(true);
    expect(model.training).toBe(true);
  });
});
