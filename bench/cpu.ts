/**
 * `npm run bench:cpu`: the CPU build against PyTorch CPU, per op and per whole step.
 *
 * For each preset and batch size it times a training step, an inference pass and every layer's
 * forward and backward pass (lib/benchmark.ts), and the same work in PyTorch
 * (bench/pytorch_baseline.py, a child process with torch.set_num_threads set to our OpenMP thread
 * count). Each measurement runs on our side and then on PyTorch's before the next one starts, so
 * both see the same machine load; with --rounds 2 or more the order alternates. Printed: medians in
 * milliseconds and the ratio ours / PyTorch (below 1: we are faster). See bench/README.md.
 */
import { writeFileSync } from 'node:fs';

import { benchmarkInference, benchmarkLayers, benchmarkTraining, summarize, type LayerBenchmark, type Timing } from '../lib/benchmark';
import { getBackend } from '../lib/backend/backend';
import { PRESETS, type PresetName } from '../lib/models/alexnet';
import { intList, nonNegative, parseFlags, positive, presetList } from './options';
import { PyTorchBaseline, torchUnavailableReason, type BaselineLayerRow } from './pytorchBaseline';
import { formatTable, ratio, type Cell } from './table';

const USAGE = `usage: npm run bench:cpu -- [--presets all|p1,p2] [--batch 1,32] [--tasks train,inference,layers]
       [--iters N] [--warmup N] [--rounds N] [--python python3] [--no-pytorch] [--json FILE]
  presets: ${PRESETS.join(', ')} (default all); iterations default to 10 at batch < 8, else 5.
`;

type Task = 'train' | 'inference' | 'layers';
const TASKS: readonly Task[] = ['train', 'inference', 'layers'];

const flags = parseFlags(
  {
    presets: { type: 'string' },
    batch: { type: 'string' },
    tasks: { type: 'string' },
    iters: { type: 'string' },
    warmup: { type: 'string' },
    rounds: { type: 'string' },
    python: { type: 'string' },
    'no-pytorch': { type: 'boolean' },
    json: { type: 'string' },
    help: { type: 'boolean' },
  },
  USAGE,
);

interface StepRecord {
  preset: PresetName;
  batch: number;
  task: 'train' | 'inference';
  ours: Timing;
  pytorch: Timing | null;
  /** ours / PyTorch median time. */
  ratio: number | null;
}

interface LayerRecord {
  name: string;
  layers: string;
  inputShape: number[];
  ours: { forward: Timing; backward: Timing | null };
  pytorch: { forward: Timing; backward: Timing | null } | null;
  ratio: { forward: number | null; backward: number | null; total: number | null };
}

interface LayersRecord {
  preset: PresetName;
  batch: number;
  rows: LayerRecord[];
}

function parseTasks(value: string | undefined): Task[] {
  if (value === undefined) return [...TASKS];
  const tasks = value.split(',').map((s) => s.trim());
  for (const t of tasks) {
    if (!TASKS.includes(t as Task)) throw new TypeError(`--tasks: ${JSON.stringify(t)} is not one of ${TASKS.join(', ')}`);
  }
  return tasks as Task[];
}

const merge = (parts: number[][]): Timing => summarize(parts.flat());
const ms = (t: Timing | null | undefined): number | null => t?.medianMs ?? null;
const total = (f: Timing | null | undefined, b: Timing | null | undefined): number | null => (f ? f.medianMs + (b?.medianMs ?? 0) : null);
/** The spread of a measurement: (max - min) / median, in percent. */
const spread = (t: Timing | null): number | null => (t ? (100 * (t.maxMs - t.minMs)) / t.medianMs : null);

async function main(): Promise<void> {
  if (flags.help) {
    process.stdout.write(USAGE);
    return;
  }
  const presets = presetList(flags.presets, PRESETS);
  const batches = intList(flags.batch, [1, 32], '--batch');
  const tasks = parseTasks(flags.tasks);
  const warmup = nonNegative(flags.warmup, '--warmup', 2);
  const rounds = positive(flags.rounds, '--rounds', 1);
  const itersFor = (batch: number) => positive(flags.iters, '--iters', batch < 8 ? 10 : 5);
  const python = flags.python ?? process.env.PYTHON ?? 'python3';

  const backend = getBackend('cpu');
  const info = backend.info();
  const threads = Number(info.threads);
  process.stdout.write(`ours: ${info.device}, ${threads} OpenMP threads, oneDNN ${info.onednn}\n`);

  let baseline: PyTorchBaseline | null = null;
  if (!flags['no-pytorch']) {
    const reason = torchUnavailableReason(python);
    if (reason) {
      process.stdout.write(`PyTorch baseline skipped: ${reason}\n`);
    } else {
      baseline = new PyTorchBaseline(python, 'cpu', threads);
      const t = await baseline.info();
      process.stdout.write(`PyTorch ${t.torch} on ${t.device}, ${t.threads} threads\n`);
    }
  }

  const steps: StepRecord[] = [];
  const layerRecords: LayersRecord[] = [];
  try {
    for (const preset of presets) {
      for (const batch of batches) {
        const iterations = itersFor(batch);
        const common = { preset, batchSize: batch, backend, warmup, iterations };
        const request = { preset, batch, warmup, iters: iterations };
        const ours: Record<string, number[][]> = {};
        const theirs: Record<string, number[][]> = {};
        const ourLayers: LayerBenchmark[][] = [];
        const theirLayers: BaselineLayerRow[][] = [];
        const push = (into: Record<string, number[][]>, key: string, samples: number[]) => (into[key] ??= []).push(samples);
        for (let round = 0; round < rounds; round++) {
          for (const task of tasks) {
            const runOurs = async () => {
              if (task === 'train') push(ours, task, (await benchmarkTraining(common)).timing.samplesMs);
              else if (task === 'inference') push(ours, task, (await benchmarkInference(common)).timing.samplesMs);
              else ourLayers.push((await benchmarkLayers(common)).rows);
            };
            const runTheirs = async () => {
              if (!baseline) return;
              if (task === 'layers') theirLayers.push(await baseline.layers({ ...request, task }));
              else push(theirs, task, await baseline.step({ ...request, task }));
            };
            // Alternate who goes first, so that a drift in machine load does not favour one side.
            if (round % 2 === 0) {
              await runOurs();
              await runTheirs();
            } else {
              await runTheirs();
              await runOurs();
            }
          }
        }
        const stepRows: StepRecord[] = [];
        for (const task of ['train', 'inference'] as const) {
          if (!ours[task]) continue;
          const o = merge(ours[task]);
          const p = theirs[task] ? merge(theirs[task]) : null;
          stepRows.push({ preset, batch, task, ours: o, pytorch: p, ratio: ratio(ms(o), ms(p)) });
        }
        steps.push(...stepRows);
        const layers = ourLayers.length ? mergeLayers(ourLayers, theirLayers) : [];
        if (layers.length) layerRecords.push({ preset, batch, rows: layers });
        process.stdout.write(`\n${preset}, batch ${batch} (${iterations} timed iterations x ${rounds} round(s), medians in ms)\n`);
        process.stdout.write(`${detailTable(stepRows, layers)}\n`);
      }
    }
  } finally {
    baseline?.close();
  }

  if (steps.length > 0) {
    process.stdout.write(
      `\nSummary: ours / PyTorch time (below 1 is faster; goal <= 1.5), ${threads} threads; ratio of medians, and of the fastest samples\n`,
    );
    process.stdout.write(`${summaryTable(steps)}\n`);
  }
  if (flags.json) {
    writeFileSync(
      flags.json,
      JSON.stringify({ environment: { ours: info, threads, date: new Date().toISOString() }, steps, layers: layerRecords }, null, 1),
    );
    process.stdout.write(`wrote ${flags.json}\n`);
  }
}

function mergeLayers(ours: LayerBenchmark[][], theirs: BaselineLayerRow[][]): LayerRecord[] {
  return ours[0].map((row, i) => {
    const forward = merge(ours.map((r) => r[i].forward.samplesMs));
    const backward = row.backward ? merge(ours.map((r) => r[i].backward!.samplesMs)) : null;
    let pytorch: LayerRecord['pytorch'] = null;
    if (theirs.length) {
      const match = theirs[0].find((t) => t.name === row.name);
      if (!match || match.layers !== row.layers || match.input_shape.join() !== row.inputShape.join()) {
        process.stderr.write(
          `warning: PyTorch's ${row.name} is ${match ? `${match.layers} [${match.input_shape.join(', ')}]` : 'missing'}, ours is ${row.layers} [${row.inputShape.join(', ')}]; not compared\n`,
        );
      } else {
        const rows = theirs.map((t) => t.find((x) => x.name === row.name)!);
        pytorch = {
          forward: merge(rows.map((r) => r.forward_ms)),
          backward: match.backward_ms ? merge(rows.map((r) => r.backward_ms!)) : null,
        };
      }
    }
    return {
      name: row.name,
      layers: row.layers,
      inputShape: row.inputShape,
      ours: { forward, backward },
      pytorch,
      ratio: {
        forward: ratio(ms(forward), ms(pytorch?.forward)),
        backward: ratio(ms(backward), ms(pytorch?.backward)),
        total: ratio(total(forward, backward), total(pytorch?.forward, pytorch?.backward)),
      },
    };
  });
}

function detailTable(steps: StepRecord[], layers: LayerRecord[]): string {
  const rows: (Cell[] | null)[] = steps.map((s) => [
    s.task === 'train' ? 'training step' : 'inference',
    '',
    ms(s.ours),
    ms(s.pytorch),
    s.ratio,
    null,
    null,
    null,
    s.ratio,
    `${spread(s.ours)?.toFixed(0)}% / ${spread(s.pytorch)?.toFixed(0) ?? '-'}%`,
  ]);
  if (layers.length) rows.push(null);
  for (const l of layers) {
    rows.push([
      l.name,
      l.layers,
      ms(l.ours.forward),
      ms(l.pytorch?.forward),
      l.ratio.forward,
      ms(l.ours.backward),
      ms(l.pytorch?.backward),
      l.ratio.backward,
      l.ratio.total,
      `${spread(l.ours.forward)?.toFixed(0)}% / ${spread(l.pytorch?.forward ?? null)?.toFixed(0) ?? '-'}%`,
    ]);
  }
  return formatTable(
    [
      { header: 'what' },
      { header: 'layers' },
      { header: 'ours fwd', digits: 2 },
      { header: 'torch fwd', digits: 2 },
      { header: 'ratio', digits: 2 },
      { header: 'ours bwd', digits: 2 },
      { header: 'torch bwd', digits: 2 },
      { header: 'ratio', digits: 2 },
      { header: 'ratio all', digits: 2 },
      { header: 'spread ours/torch' },
    ],
    rows,
  );
}

function summaryTable(steps: StepRecord[]): string {
  const keys = [...new Set(steps.map((s) => `${s.preset}|${s.batch}`))];
  const rows = keys.map((key): Cell[] => {
    const [preset, batch] = key.split('|');
    const find = (task: string) => steps.find((s) => `${s.preset}|${s.batch}` === key && s.task === task);
    const train = find('train');
    const infer = find('inference');
    return [
      preset,
      batch,
      ms(train?.ours),
      ms(train?.pytorch),
      train?.ratio ?? null,
      ratio(train?.ours.minMs, train?.pytorch?.minMs),
      ms(infer?.ours),
      ms(infer?.pytorch),
      infer?.ratio ?? null,
      ratio(infer?.ours.minMs, infer?.pytorch?.minMs),
    ];
  });
  return formatTable(
    [
      { header: 'preset' },
      { header: 'batch' },
      { header: 'train ours ms' },
      { header: 'torch ms' },
      { header: 'ratio', digits: 2 },
      { header: 'min ratio', digits: 2 },
      { header: 'infer ours ms', digits: 2 },
      { header: 'torch ms', digits: 2 },
      { header: 'ratio', digits: 2 },
      { header: 'min ratio', digits: 2 },
    ],
    rows,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:cpu failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
