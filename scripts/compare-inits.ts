/**
 * Which initialization lets a full-size preset train: the first SGD steps of one preset from each
 * init scheme, on the same Fashion-MNIST images (resized to the preset's input, grey copied to RGB),
 * printing the loss at a few steps. The seed-tf preset's documented default comes from this run.
 *
 * Usage: npx tsx scripts/compare-inits.ts [--preset seed-tf] [--steps 20] [--batch 16] [--lr 0.01]
 *        [--inits kaiming,pytorch,truncated-normal]
 * Needs Fashion-MNIST (apt-get install dataset-fashion-mnist). Runs on the default backend.
 */
import { parseArgs } from 'node:util';

import { loadFashionMnist, randomSubset } from '../lib/data/index';
import { createAlexNet, type PresetName } from '../lib/models/alexnet';
import { INIT_SCHEMES, type InitScheme } from '../lib/models/init';
import { CrossEntropyLoss } from '../lib/nn/index';
import { SGD } from '../lib/optim/sgd';
import { Tensor } from '../lib/tensor';
import { resize } from '../lib/data/transforms/resize';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'seed-tf' },
    steps: { type: 'string', default: '20' },
    batch: { type: 'string', default: '16' },
    lr: { type: 'string', default: '0.01' },
    inits: { type: 'string', default: 'kaiming,pytorch,truncated-normal' },
  },
});
const preset = values.preset as PresetName;
const steps = Number(values.steps);
const batch = Number(values.batch);
const lr = Number(values.lr);
const inits = values.inits.split(',') as InitScheme[];
for (const init of inits) {
  if (!INIT_SCHEMES.includes(init)) throw new TypeError(`--inits: unknown scheme ${JSON.stringify(init)}`);
}

/** `steps` batches of `batch` images as [N, C, S, S] float32 (pixels / 255), grey copied to every channel. */
async function batches(inChannels: number, size: number): Promise<{ x: Float32Array; labels: Int32Array }[]> {
  const data = randomSubset(await loadFashionMnist('train'), steps * batch, 1);
  const resizer = resize([size, size]);
  const out: { x: Float32Array; labels: Int32Array }[] = [];
  for (let s = 0; s < steps; s++) {
    const x = new Float32Array(batch * inChannels * size * size);
    const labels = new Int32Array(batch);
    for (let i = 0; i < batch; i++) {
      const { image, label } = await data.get(s * batch + i);
      const grey = resizer.apply(image).data;
      for (let c = 0; c < inChannels; c++) x.set(grey, (i * inChannels + c) * size * size);
      labels[i] = label;
    }
    out.push({ x, labels });
  }
  return out;
}

async function main(): Promise<void> {
  const probe = createAlexNet({ preset, numClasses: 10, seed: 1 });
  const { inChannels, inputSize } = probe.config;
  probe.dispose();
  const data = await batches(inChannels, inputSize);
  const reported = [0, 1, 4, 9, steps - 1].filter((s, i, all) => s < steps && all.indexOf(s) === i);
  console.log(
    `${preset}, full size, 10 classes, batch ${batch}, SGD lr ${lr} momentum 0.9; loss at steps ${reported.map((s) => s + 1).join(', ')}`,
  );
  for (const init of inits) {
    const model = createAlexNet({ preset, numClasses: 10, init, seed: 1 });
    const optimizer = new SGD(
      model.namedParameters().map(([, p]) => p),
      { lr, momentum: 0.9 },
    );
    const criterion = new CrossEntropyLoss();
    const losses: number[] = [];
    for (const { x, labels } of data) {
      const input = Tensor.fromArray(x, [batch, inChannels, inputSize, inputSize]);
      const target = Tensor.fromArray(labels, [batch], { dtype: 'int32' });
      const logits = model.forward(input);
      const { loss, gradLogits } = criterion.compute(logits, target);
      model.backward(gradLogits);
      optimizer.step();
      losses.push((await loss.toArray())[0]);
      for (const t of [input, target, logits, loss, gradLogits]) t.dispose();
    }
    optimizer.dispose();
    model.dispose();
    console.log(`${init.padEnd(17)} ${reported.map((s) => losses[s].toPrecision(4)).join('  ')}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
