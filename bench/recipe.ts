/**
 * `npm run bench:recipe`: the d2l recipe's step rate with and without data loading (issue 13).
 * Fashion-MNIST's training images resized from 28 to the input size, the d2l preset, plain SGD lr
 * 0.01, steps run as the Trainer runs them (TrainStepper: captured after warm-up; StepWindow: at most
 * two steps queued). Three measurements of --steps steps each, after --warmup steps:
 *   no loading   the same batch, already on the device, every step (the step rate alone);
 *   host         the DataLoader with the transforms on the host (worker threads on the GPU build);
 *   device       the DataLoader handing image bytes to the device's preprocess op.
 * The loader never limits the step when `device` is as fast as `no loading`.
 *
 * On the development machine (CPU build) use a reduced model, e.g. --width 0.25 --batch 32: the
 * figures then compare the loader's cost with a CPU step. On a GPU: --backend cuda (defaults to the
 * full recipe, batch 128).
 */
import { writeFileSync } from 'node:fs';

import { getBackend, type BackendKind } from '../lib/backend/backend';
import { loadFashionMnist } from '../lib/data/fashionMnist';
import { DataLoader } from '../lib/data/loader';
import type { TransformSpec } from '../lib/data/transforms/transform';
import { createAlexNet } from '../lib/models/alexnet';
import { SGD } from '../lib/optim/sgd';
import { Tensor } from '../lib/tensor';
import { StepWindow, TrainStepper } from '../lib/training/step';
import { nonNegative, parseFlags, positive } from './options';

const USAGE = `usage: npm run bench:recipe -- [--backend cpu|cuda] [--width 1] [--batch 128] [--input-size 224]
       [--steps 40] [--warmup 5] [--data DIR] [--json FILE]
`;

const flags = parseFlags(
  {
    backend: { type: 'string' },
    width: { type: 'string' },
    batch: { type: 'string' },
    'input-size': { type: 'string' },
    steps: { type: 'string' },
    warmup: { type: 'string' },
    data: { type: 'string' },
    json: { type: 'string' },
    help: { type: 'boolean' },
  },
  USAGE,
);

interface Measurement {
  what: string;
  steps: number;
  seconds: number;
  stepsPerSecond: number;
  imagesPerSecond: number;
}

async function main(): Promise<void> {
  if (flags.help) {
    process.stdout.write(USAGE);
    return;
  }
  const backend = getBackend((flags.backend ?? 'auto') as BackendKind | 'auto');
  const width = Number(flags.width ?? 1);
  const batchSize = positive(flags.batch, '--batch', 128);
  const size = positive(flags['input-size'], '--input-size', 224);
  const steps = positive(flags.steps, '--steps', 40);
  const warmup = nonNegative(flags.warmup, '--warmup', 5);
  const train = await loadFashionMnist('train', flags.data ? { path: flags.data } : {});
  const transform: TransformSpec[] = size === 28 ? [] : [{ kind: 'resize', size: [size, size] }];
  const model = createAlexNet({ preset: 'd2l', width, inputSize: size, seed: 0, backend });
  const optimizer = new SGD(
    model.namedParameters().map(([, p]) => p),
    { lr: 0.01 },
  );
  const stepper = new TrainStepper(model, optimizer);
  model.train();
  process.stdout.write(`d2l (width ${width}, ${size}x${size}) on ${backend.kind} (${String(backend.info().device)}), batch ${batchSize}\n`);

  /** Runs warmup + steps steps from `next()`, timing the last `steps` (wall, until the device is idle). */
  async function measure(what: string, next: () => Promise<{ input: Tensor; labels: Tensor; dispose(): void }>): Promise<Measurement> {
    const window = new StepWindow(2);
    let start = 0;
    for (let i = 0; i < warmup + steps; i++) {
      if (i === warmup) {
        await window.drain();
        start = performance.now();
      }
      const batch = await next();
      const { logits, loss } = stepper.step(batch.input, batch.labels);
      logits.dispose();
      loss.dispose();
      batch.dispose();
      await window.after(model);
    }
    await window.drain();
    const seconds = (performance.now() - start) / 1000;
    const m = { what, steps, seconds, stepsPerSecond: steps / seconds, imagesPerSecond: (steps * batchSize) / seconds };
    process.stdout.write(`${what.padEnd(12)} ${m.stepsPerSecond.toFixed(2)} steps/s, ${Math.round(m.imagesPerSecond)} img/s\n`);
    return m;
  }

  const results: Measurement[] = [];
  // No loading: one batch, prepared once.
  const fixed = new DataLoader(train, { batchSize, transform, backend, devicePreprocess: false, workers: 0 });
  const first = (await fixed.batches(0).next()).value!;
  results.push(
    await measure('no loading', () => Promise.resolve({ input: first.input.share(), labels: first.labels.share(), dispose() {} })),
  );
  first.dispose();
  await fixed.close();
  for (const device of [false, true]) {
    const loader = new DataLoader(train, { batchSize, transform, backend, shuffle: true, seed: 1, devicePreprocess: device });
    const it = loader.batches(0);
    results.push(
      await measure(device ? 'device' : `host (${loader.workers} workers)`, async () => {
        const r = await it.next();
        if (r.done) throw new Error('the epoch ran out of batches: use fewer --steps');
        return r.value;
      }),
    );
    await it.return(undefined);
    await loader.close();
  }
  stepper.dispose();
  optimizer.dispose();
  model.dispose();
  if (flags.json) {
    writeFileSync(flags.json, JSON.stringify({ backend: backend.info(), width, batchSize, size, results }, null, 1));
    process.stdout.write(`wrote ${flags.json}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:recipe failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
