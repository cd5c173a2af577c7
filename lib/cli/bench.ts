/**
 * `alexnet bench`: times a training step, inference and, on request, each layer of a preset on a
 * backend, with lib/benchmark.ts (medians of blocking-fenced iterations, inputs already on the
 * device).
 * @module
 */
import { benchmarkInference, benchmarkLayers, benchmarkTraining, type BenchmarkOptions, type Timing } from '../benchmark';
import { PRESETS, type PresetName } from '../models/alexnet';
import { choiceArg, intArg, numberArg, stringArg, UsageError, type CommandSpec, type ParsedArgs } from './args';
import { BACKEND_OPTIONS, backendFromFlags } from './backendFlags';
import { EXIT, type CliIo, type Command } from './command';

const TASKS = ['train', 'inference', 'layers'] as const;
type Task = (typeof TASKS)[number];

const spec: CommandSpec = {
  name: 'bench',
  summary: 'time a training step, inference and each layer of a preset',
  usage: '[options]',
  options: {
    preset: { type: 'string', value: 'NAME', description: PRESETS.join(', '), default: 'torchvision' },
    'batch-size': { type: 'string', value: 'N[,N...]', description: 'batch sizes', default: '128' },
    task: { type: 'string', value: 'LIST', description: `comma-separated: ${TASKS.join(', ')}`, default: 'train,inference' },
    iterations: { type: 'string', value: 'N', description: 'timed iterations (the median is reported)', default: '10' },
    warmup: { type: 'string', value: 'N', description: 'untimed iterations first', default: '3' },
    width: { type: 'string', value: 'X', description: 'channel-width multiplier (quick runs)', default: '1' },
    'no-graphs': { type: 'boolean', description: 'time plain calls instead of captured graph replays' },
    json: { type: 'boolean', description: 'print one JSON object per measurement' },
    ...BACKEND_OPTIONS,
  },
  notes: [
    'examples:',
    '  alexnet bench --backend cuda --precision tf32 --batch-size 128,256',
    '  alexnet bench --preset paper --task layers --batch-size 32',
  ],
};

const ms = (t: Timing) => `${t.medianMs.toFixed(2)} ms (min ${t.minMs.toFixed(2)}, max ${t.maxMs.toFixed(2)})`;

async function run(args: ParsedArgs, io: CliIo): Promise<number> {
  const { values } = args;
  const backend = backendFromFlags(values);
  const preset = choiceArg<PresetName>(values, 'preset', PRESETS, 'torchvision');
  const tasks = stringArg(values, 'task', 'train,inference')
    .split(',')
    .map((t) => t.trim());
  for (const t of tasks)
    if (!TASKS.includes(t as Task)) throw new UsageError(`--task must list ${TASKS.join(', ')}, got ${JSON.stringify(t)}`);
  const batches = stringArg(values, 'batch-size', '128')
    .split(',')
    .map((b) => intArg({ 'batch-size': b.trim() }, 'batch-size', 1, 1));
  const out = (line: string) => io.stdout.write(`${line}\n`);
  const info = backend.info();
  if (values.json !== true) {
    out(`${preset} AlexNet on ${backend.kind}${info.device ? ` (${String(info.device)})` : ''}, precision ${backend.mathMode}`);
  }
  for (const batchSize of batches) {
    const options: BenchmarkOptions = {
      preset,
      batchSize,
      backend,
      iterations: intArg(values, 'iterations', 10, 1),
      warmup: intArg(values, 'warmup', 3, 0),
      width: numberArg(values, 'width', 1, 1e-3, 16),
      graphs: values['no-graphs'] !== true,
    };
    for (const task of tasks as Task[]) {
      if (task === 'layers') {
        const result = await benchmarkLayers(options);
        if (values.json === true) {
          out(JSON.stringify({ task, ...result }));
          continue;
        }
        out(`layers, batch ${batchSize}:`);
        for (const row of result.rows) {
          out(
            `  ${row.name.padEnd(14)} ${row.layers.padEnd(22)} forward ${row.forward.medianMs.toFixed(3).padStart(9)} ms` +
              (row.backward ? `  backward ${row.backward.medianMs.toFixed(3).padStart(9)} ms` : ''),
          );
        }
        continue;
      }
      const result = task === 'train' ? await benchmarkTraining(options) : await benchmarkInference(options);
      if (values.json === true) {
        out(JSON.stringify(result));
      } else {
        out(
          `${task.padEnd(9)} batch ${String(batchSize).padStart(4)}: ${ms(result.timing)}, ${Math.round(result.imagesPerSecond)} img/s; ` +
            `device ${result.deviceTiming.medianMs.toFixed(2)} ms (${result.captured ? 'graph replays' : 'plain calls'})`,
        );
      }
    }
  }
  return EXIT.ok;
}

/** `alexnet bench`. */
export const benchCommand: Command = { spec, run };
