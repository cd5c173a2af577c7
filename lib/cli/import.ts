/**
 * `alexnet import`: converts PyTorch weights (a `.pth`/`.pt` file from torch.save, such as
 * torchvision's alexnet-owt-7be5be79.pth) into a model file the other commands load, without
 * Python. See interop/torchImport for what is accepted.
 * @module
 */
import * as path from 'node:path';

import { saveCheckpoint } from '../checkpoint/format';
import { IMAGENET_MEAN, IMAGENET_STD } from '../data/transforms/normalize';
import type { TransformSpec } from '../data/transforms/transform';
import { importTorchCheckpoint } from '../interop/torchImport';
import { readRegularFile } from '../io/readFile';
import { PRESETS, type AlexNetConfig, type PresetName } from '../models/alexnet';
import { choiceArg, intArg, numberArg, stringArg, UsageError, type CommandSpec, type ParsedArgs } from './args';
import { EXIT, type CliIo, type Command } from './command';

const PREPROCESSING = ['none', 'imagenet'] as const;

const spec: CommandSpec = {
  name: 'import',
  summary: 'convert PyTorch weights (.pth/.pt from torch.save) into a model file, without Python',
  usage: 'FILE.pth [options]',
  positionals: true,
  options: {
    output: {
      type: 'string',
      short: 'o',
      value: 'PATH',
      description: 'the model file to write',
      default: 'FILE with the extension .safetensors',
    },
    preset: {
      type: 'string',
      value: 'NAME',
      description: `the AlexNet the weights are for: ${PRESETS.join(', ')}`,
      default: 'torchvision',
    },
    'num-classes': { type: 'string', value: 'N', description: 'output classes', default: 'from the file' },
    'in-channels': { type: 'string', value: 'N', description: 'input channels', default: 'from the file' },
    'input-size': { type: 'string', value: 'N', description: 'input height and width', default: "the preset's" },
    width: { type: 'string', value: 'W', description: 'channel and hidden-width multiplier', default: '1' },
    classes: { type: 'string', value: 'FILE', description: 'class names, one per line, stored for predict' },
    preprocessing: {
      type: 'string',
      value: 'NAME',
      description:
        "what predict does to an image: none (resize to the input size) or imagenet (torchvision's: resize 256, center crop 224, ImageNet mean and std)",
      default: 'none',
    },
    'ignore-extra': { type: 'boolean', description: 'ignore tensors in the file that the model does not have' },
  },
  notes: [
    'The file may hold a state_dict or a checkpoint dict with one under state_dict, model_state_dict or model;',
    "a DataParallel 'module.' prefix is removed. Nothing in the file is executed: anything but tensors,",
    'dicts, lists, numbers and strings is refused.',
    '',
    'example (torchvision ImageNet weights):',
    '  alexnet import alexnet-owt-7be5be79.pth --preset torchvision --preprocessing imagenet --classes imagenet_classes.txt -o alexnet.safetensors',
  ],
};

/** torchvision's evaluation transform, scaled to the model's input size (256/224 resize, then a crop). */
function imagenetPreprocessing(config: AlexNetConfig): TransformSpec[] {
  return [
    { kind: 'resize', size: Math.round((config.inputSize * 256) / 224) },
    { kind: 'centerCrop', size: config.inputSize },
    { kind: 'normalize', mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] },
  ];
}

async function readClasses(file: string): Promise<string[]> {
  let text: string;
  try {
    text = (await readRegularFile(file, { what: 'class list', maxBytes: 64 * 1024 * 1024 })).toString('utf8');
  } catch (error) {
    throw new UsageError(`--classes: ${(error as Error).message}`);
  }
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

async function run(args: ParsedArgs, io: CliIo): Promise<number> {
  const { values, positionals } = args;
  if (positionals.length !== 1)
    throw new UsageError(`give exactly one file to import, got ${positionals.length} (see alexnet import --help)`);
  const input = positionals[0]!;
  const output = stringArg(values, 'output') ?? path.join(path.dirname(input), `${path.basename(input, path.extname(input))}.safetensors`);
  if (path.resolve(output) === path.resolve(input))
    throw new UsageError(`--output ${output} is the file being imported; choose another name`);
  const preset = choiceArg<PresetName>(values, 'preset', PRESETS, 'torchvision');
  const preprocessing = choiceArg(values, 'preprocessing', PREPROCESSING, 'none');
  const numClasses = intArg(values, 'num-classes', undefined, 1);
  const inChannels = intArg(values, 'in-channels', undefined, 1);
  const inputSize = intArg(values, 'input-size', undefined, 1);
  const classesFile = stringArg(values, 'classes');
  const classes = classesFile ? await readClasses(classesFile) : null;
  const model = await importTorchCheckpoint(input, {
    preset,
    ...(numClasses !== undefined ? { numClasses } : {}),
    ...(inChannels !== undefined ? { inChannels } : {}),
    ...(inputSize !== undefined ? { inputSize } : {}),
    width: numberArg(values, 'width', 1, Number.MIN_VALUE, 16),
    backend: 'cpu',
    strict: values['ignore-extra'] !== true,
    onNote: (note) => io.stderr.write(`alexnet import: ${note}\n`),
  });
  try {
    if (classes && classes.length !== model.config.numClasses) {
      throw new UsageError(`--classes ${classesFile} names ${classes.length} classes, the model has ${model.config.numClasses} outputs`);
    }
    if (classes) model.classes = classes;
    if (preprocessing === 'imagenet') model.preprocessing = imagenetPreprocessing(model.config);
    await saveCheckpoint(output, model);
    const count = model.namedParameters().reduce((n, [, p]) => n + p.value.size, 0);
    io.stdout.write(
      `${output}: ${preset} AlexNet, ${model.config.numClasses} classes, ${count.toLocaleString('en-US')} parameters (from ${input})\n`,
    );
    return EXIT.ok;
  } finally {
    model.dispose();
  }
}

/** `alexnet import`. */
export const importCommand: Command = { spec, run };
