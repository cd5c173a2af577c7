/**
 * `alexnet export --onnx`: writes a saved model's inference graph as an ONNX model for
 * onnxruntime (Node, web, Python) and other ONNX runtimes. See interop/onnxExport.
 * @module
 */
import * as path from 'node:path';

import { modelFromCheckpoint, readCheckpoint } from '../checkpoint/format';
import { exportOnnx, ONNX_OPSET } from '../interop/onnxExport';
import { resolveCheckpointFile } from '../checkpoint/directory';
import { PRESETS, type PresetName } from '../models/alexnet';
import { choiceArg, intArg, stringArg, UsageError, type CommandSpec, type ParsedArgs } from './args';
import { EXIT, type CliIo, type Command } from './command';

const spec: CommandSpec = {
  name: 'export',
  summary: `write a saved model as an ONNX model (opset ${ONNX_OPSET}) for onnxruntime and other runtimes`,
  usage: '--onnx MODEL [-o FILE.onnx] [options]',
  positionals: true,
  options: {
    onnx: { type: 'boolean', description: 'write ONNX (the only format so far; required, so that others can be added)' },
    output: { type: 'string', short: 'o', value: 'PATH', description: 'the file to write', default: 'MODEL with the extension .onnx' },
    'batch-size': { type: 'string', value: 'N', description: 'a fixed batch size', default: 'any: a symbolic N' },
    preset: { type: 'string', value: 'NAME', description: `for a weights-only file without our metadata: ${PRESETS.join(', ')}` },
  },
  notes: [
    "The graph takes 'input' [N, C, H, W] (float32, preprocessed as the model's metadata_props say) and",
    "gives 'logits' [N, classes]. Dropout is left out (inference).",
    '',
    'example:',
    '  alexnet export --onnx alexnet.safetensors -o alexnet.onnx',
  ],
};

async function run(args: ParsedArgs, io: CliIo): Promise<number> {
  const { values, positionals } = args;
  if (values.onnx !== true) throw new UsageError('choose the format: --onnx (see alexnet export --help)');
  if (positionals.length !== 1)
    throw new UsageError(`give exactly one model file to export, got ${positionals.length} (see alexnet export --help)`);
  const file = await resolveCheckpointFile(positionals[0]!, 'model');
  const output = stringArg(values, 'output') ?? path.join(path.dirname(file), `${path.basename(file, path.extname(file))}.onnx`);
  if (path.resolve(output) === path.resolve(file))
    throw new UsageError(`--output ${output} is the model being exported; choose another name`);
  const preset = stringArg(values, 'preset') !== undefined ? choiceArg<PresetName>(values, 'preset', PRESETS, 'torchvision') : undefined;
  const batchSize = intArg(values, 'batch-size', undefined, 1);
  const model = modelFromCheckpoint(await readCheckpoint(file), { backend: 'cpu', ...(preset ? { config: { preset } } : {}) });
  try {
    await exportOnnx(model, output, batchSize !== undefined ? { batchSize } : {});
    const { preset: name, numClasses, inChannels, inputSize } = model.config;
    io.stdout.write(
      `${output}: ONNX opset ${ONNX_OPSET}, ${name} AlexNet, input [${batchSize ?? 'N'}, ${inChannels}, ${inputSize}, ${inputSize}], logits [${batchSize ?? 'N'}, ${numClasses}] (from ${file})\n`,
    );
    return EXIT.ok;
  } finally {
    model.dispose();
  }
}

/** `alexnet export`. */
export const exportCommand: Command = { spec, run };
