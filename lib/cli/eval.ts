/**
 * `alexnet eval`: loss, top-1 and top-5 accuracy of a saved model on a dataset split, with the
 * preprocessing stored in the checkpoint.
 * @module
 */
import { readCheckpoint, modelFromCheckpoint } from '../checkpoint/format';
import { randomSubset } from '../data/dataset';
import type { Split } from '../data/fashionMnist';
import { resolveCheckpointFile } from '../checkpoint/directory';
import { Trainer } from '../training/trainer';
import { autoOrIntArg, choiceArg, intArg, stringArg, UsageError, type CommandSpec, type ParsedArgs } from './args';
import { BACKEND_OPTIONS, backendFromFlags } from './backendFlags';
import { EXIT, type CliIo, type Command } from './command';
import { DATASETS, datasetTransforms, loadSplit, type DatasetName } from './datasets';
import { storedSettings } from './train';

const spec: CommandSpec = {
  name: 'eval',
  summary: 'evaluate a saved model: loss, top-1 and top-5 accuracy',
  usage: '--checkpoint PATH [options]',
  options: {
    checkpoint: {
      type: 'string',
      short: 'c',
      value: 'PATH',
      description: 'model or checkpoint file, or a checkpoint folder',
      default: 'checkpoints',
    },
    dataset: { type: 'string', value: 'NAME', description: DATASETS.join(', '), default: 'the one it was trained on, else fashion-mnist' },
    data: { type: 'string', value: 'PATH', description: 'dataset folder', default: 'the one it was trained on' },
    split: { type: 'string', value: 'NAME', description: 'test or train', default: 'test' },
    subset: { type: 'string', value: 'N', description: 'evaluate N random images of the split', default: 'all' },
    seed: { type: 'string', value: 'N', description: 'seed of the random subset', default: '0' },
    'batch-size': { type: 'string', value: 'N', description: 'images per forward pass', default: '256' },
    workers: { type: 'string', value: 'N', description: 'data-loading threads, or auto', default: 'auto' },
    json: { type: 'boolean', description: 'print the result as JSON' },
    ...BACKEND_OPTIONS,
  },
  notes: ['example:', '  alexnet eval --checkpoint checkpoints/model.safetensors'],
};

async function run(args: ParsedArgs, io: CliIo): Promise<number> {
  const { values } = args;
  const backend = backendFromFlags(values);
  const file = await resolveCheckpointFile(stringArg(values, 'checkpoint', 'checkpoints'), 'model');
  const checkpoint = await readCheckpoint(file);
  const stored: { dataset?: DatasetName; data?: string | null } = storedSettings(checkpoint) ?? {};
  const dataset = choiceArg(values, 'dataset', DATASETS, stored.dataset ?? 'fashion-mnist');
  const data = stringArg(values, 'data') ?? stored.data ?? undefined;
  const split = choiceArg<Split>(values, 'split', ['test', 'train'], 'test');
  const model = modelFromCheckpoint(checkpoint, { backend });
  try {
    let ds = await loadSplit(dataset, split, { data, model: model.config });
    if (ds.classes.length !== model.config.numClasses) {
      throw new UsageError(`the model has ${model.config.numClasses} outputs but --dataset ${dataset} has ${ds.classes.length} classes`);
    }
    const subset = intArg(values, 'subset', undefined, 1);
    if (subset !== undefined) ds = randomSubset(ds, subset, intArg(values, 'seed', 0, 0));
    const transform = model.preprocessing ? [...model.preprocessing] : datasetTransforms(dataset, model.config, 'none').eval;
    const result = await new Trainer(model).evaluate(ds, {
      batchSize: intArg(values, 'batch-size', 256, 1),
      transform,
      workers: autoOrIntArg(values, 'workers'),
    });
    if (values.json === true) {
      io.stdout.write(
        `${JSON.stringify({ checkpoint: file, dataset, split, images: result.count, loss: result.loss, top1: result.top1, top5: result.top5, seconds: result.seconds })}\n`,
      );
    } else {
      io.stdout.write(
        `${split} accuracy ${result.top1.toFixed(4)} (top-5 ${result.top5.toFixed(4)}, loss ${result.loss.toFixed(4)}) on ${result.count} images of ${dataset}; ` +
          `${result.seconds.toFixed(1)} s, ${Math.round(result.imagesPerSecond)} img/s (${file})\n`,
      );
    }
    return EXIT.ok;
  } finally {
    model.dispose();
  }
}

/** `alexnet eval`. */
export const evalCommand: Command = { spec, run };
