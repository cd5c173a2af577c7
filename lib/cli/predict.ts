/**
 * `alexnet predict`: the top-k classes of images (files) or of images from an IDX file (such as
 * Fashion-MNIST's test set, with the true labels beside when the label file is next to it).
 * @module
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';

import { readCheckpoint, modelFromCheckpoint } from '../checkpoint/format';
import { imageFromBytesCHW, type Image } from '../data/image';
import { readIdxFile } from '../data/idx';
import { resolveCheckpointFile } from '../checkpoint/directory';
import { predict, type Prediction } from '../predict';
import { intArg, stringArg, UsageError, type CommandSpec, type ParsedArgs } from './args';
import { BACKEND_OPTIONS, backendFromFlags } from './backendFlags';
import { EXIT, type CliIo, type Command } from './command';

const spec: CommandSpec = {
  name: 'predict',
  summary: 'top-k classes of images, with the preprocessing the model was evaluated with',
  usage: '--checkpoint PATH [options] [IMAGE...]',
  positionals: true,
  options: {
    checkpoint: {
      type: 'string',
      short: 'c',
      value: 'PATH',
      description: 'model or checkpoint file, or a checkpoint folder',
      default: 'checkpoints',
    },
    idx: { type: 'string', value: 'FILE', description: 'predict images from an IDX image file (e.g. t10k-images-idx3-ubyte.gz)' },
    start: { type: 'string', value: 'I', description: 'first image of the IDX file', default: '0' },
    count: { type: 'string', value: 'N', description: 'images taken from the IDX file', default: '10' },
    topk: { type: 'string', short: 'k', value: 'K', description: 'classes shown per image', default: '5' },
    'batch-size': { type: 'string', value: 'N', description: 'images per forward pass', default: '64' },
    json: { type: 'boolean', description: 'print one JSON object per image' },
    ...BACKEND_OPTIONS,
  },
  notes: [
    'examples:',
    '  alexnet predict -c checkpoints shoe.jpg shirt.png',
    '  alexnet predict -c checkpoints --idx /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz --count 5',
  ],
};

/** The IDX label file that goes with an image file (MNIST naming), if present. */
function labelFileFor(imagesFile: string): string | undefined {
  const base = path.basename(imagesFile).replace('images-idx3', 'labels-idx1');
  if (base === path.basename(imagesFile)) return undefined;
  const candidates = [base, base.replace(/\.gz$/, ''), `${base.replace(/\.gz$/, '')}.gz`].map((b) =>
    path.join(path.dirname(imagesFile), b),
  );
  return candidates.find((f) => existsSync(f));
}

async function run(args: ParsedArgs, io: CliIo): Promise<number> {
  const { values, positionals } = args;
  const idx = stringArg(values, 'idx');
  if (!idx && positionals.length === 0) throw new UsageError('give image files, or --idx FILE (see alexnet predict --help)');
  const backend = backendFromFlags(values);
  const file = await resolveCheckpointFile(stringArg(values, 'checkpoint', 'checkpoints'), 'model');
  const model = modelFromCheckpoint(await readCheckpoint(file), { backend });
  try {
    const inputs: (string | Image)[] = [...positionals];
    const names: string[] = [...positionals];
    const truth: (string | null)[] = positionals.map(() => null);
    if (idx) {
      const images = await readIdxFile(idx);
      const dims = images.dims;
      if (dims.length !== 3 && dims.length !== 4)
        throw new UsageError(`${idx}: expected images [N, H, W] or [N, C, H, W], got [${dims.join(', ')}]`);
      const [c, h, w] = dims.length === 3 ? [1, dims[1]!, dims[2]!] : [dims[1]!, dims[2]!, dims[3]!];
      const start = intArg(values, 'start', 0, 0);
      const count = intArg(values, 'count', 10, 1);
      if (start >= dims[0]!) throw new UsageError(`--start ${start} is beyond the ${dims[0]} images of ${idx}`);
      const end = Math.min(start + count, dims[0]!);
      const labelsFile = labelFileFor(idx);
      const labels = labelsFile ? await readIdxFile(labelsFile) : null;
      for (let i = start; i < end; i++) {
        inputs.push(imageFromBytesCHW(images.data, c, h, w, i * c * h * w));
        names.push(`${path.basename(idx)}[${i}]`);
        const l = labels?.data[i];
        truth.push(l === undefined ? null : (model.classes?.[l] ?? String(l)));
      }
    }
    const predictions: Prediction[] = await predict(model, inputs, {
      topk: intArg(values, 'topk', 5, 1),
      batchSize: intArg(values, 'batch-size', 64, 1),
    });
    predictions.forEach((p, i) => {
      if (values.json === true) {
        io.stdout.write(
          `${JSON.stringify({ input: names[i], ...(truth[i] !== null ? { truth: truth[i] } : {}), label: p.label, index: p.index, probability: p.probability, topk: p.topk })}\n`,
        );
      } else {
        const list = p.topk.map((s) => `${s.label} ${s.probability.toFixed(4)}`).join(', ');
        io.stdout.write(`${names[i]}: ${list}${truth[i] !== null ? `  (true: ${truth[i]})` : ''}\n`);
      }
    });
    return EXIT.ok;
  } finally {
    model.dispose();
  }
}

/** `alexnet predict`. */
export const predictCommand: Command = { spec, run };
