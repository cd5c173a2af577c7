/**
 * `npm run bench:gpu`: the CUDA build against PyTorch eager on the same GPU, in one run.
 *
 * For each preset (default paper and torchvision) and math mode (fp32, TF32; bf16 with --modes): a training step at
 * batch 128 (forward, cross-entropy, backward, SGD momentum 0.9 / weight decay 5e-4), inference at
 * batch 128, and batch-1 inference latency — ours through lib/benchmark.ts, PyTorch's through
 * bench/pytorch_baseline.py --device cuda (cudnn.benchmark on, TF32 switched with
 * torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32; bf16 against
 * torch.autocast(dtype=torch.bfloat16) with the model and inputs in channels_last), one after the other
 * for each measurement. Both sides time each iteration the same way: host wall clock from the first
 * call to the device being idle again (our blocking fence, torch.cuda.synchronize()), inputs already
 * on the GPU, nothing copied back; medians. See bench/README.md for the targets and how to read them.
 */
import { writeFileSync } from 'node:fs';

import { benchmarkInference, benchmarkTraining, summarize, type StepBenchmark, type Timing } from '../lib/benchmark';
import { getBackend, MATH_MODES, type Backend, type MathMode } from '../lib/backend/backend';
import { BackendUnavailableError } from '../lib/errors';
import type { PresetName } from '../lib/models/alexnet';
import { nonNegative, parseFlags, positive, presetList } from './options';
import { PyTorchBaseline, torchUnavailableReason, type BaselineInfo } from './pytorchBaseline';
import { formatTable, type Cell } from './table';

const USAGE = `usage: npm run bench:gpu -- [--presets paper,torchvision] [--modes fp32,tf32,bf16] [--batch 128]
       [--warmup 5] [--iters 20] [--latency-iters 100] [--python python3] [--no-pytorch] [--json FILE]
`;

const flags = parseFlags(
  {
    presets: { type: 'string' },
    modes: { type: 'string' },
    batch: { type: 'string' },
    warmup: { type: 'string' },
    iters: { type: 'string' },
    'latency-iters': { type: 'string' },
    python: { type: 'string' },
    'no-pytorch': { type: 'boolean' },
    json: { type: 'string' },
    help: { type: 'boolean' },
  },
  USAGE,
);

type Task = 'train' | 'inference' | 'latency';

/** Targets from the project's brief, as ratios to PyTorch eager on the same card. */
const TARGETS: Partial<Record<`${PresetName}/${Task}`, { speedupAtLeast?: number; latencyAtMost?: number }>> = {
  'paper/train': { speedupAtLeast: 1.5 },
  'torchvision/train': { speedupAtLeast: 1.0 },
  'paper/latency': { latencyAtMost: 1.0 },
  'torchvision/latency': { latencyAtMost: 1.0 },
};

interface GpuRecord {
  preset: PresetName;
  mathMode: MathMode;
  task: Task;
  batch: number;
  ours: { timing: Timing; imagesPerSecond: number };
  pytorch: { timing: Timing; imagesPerSecond: number } | null;
  /** Throughput tasks: ours img/s / PyTorch img/s (above 1: faster). Latency: ours ms / PyTorch ms (below 1: faster). */
  ratio: number | null;
  target: string | null;
  met: boolean | null;
}

function parseModes(value: string | undefined): MathMode[] {
  if (value === undefined) return ['fp32', 'tf32'];
  const modes = value.split(',').map((s) => s.trim());
  for (const m of modes)
    if (!MATH_MODES.includes(m as MathMode)) throw new TypeError(`--modes: ${JSON.stringify(m)} is not fp32, tf32 or bf16`);
  return modes as MathMode[];
}

function cudaBackendOrExit(): Backend {
  try {
    return getBackend('cuda');
  } catch (error) {
    const reasons = error instanceof BackendUnavailableError ? error.reasons : [error instanceof Error ? error.message : String(error)];
    process.stderr.write(`bench:gpu needs the CUDA backend, which cannot run here:\n  - ${reasons.join('\n  - ')}\n`);
    process.exit(2);
  }
}

async function main(): Promise<void> {
  if (flags.help) {
    process.stdout.write(USAGE);
    return;
  }
  const presets = presetList(flags.presets, ['paper', 'torchvision']);
  const modes = parseModes(flags.modes);
  const batch = positive(flags.batch, '--batch', 128);
  const warmup = nonNegative(flags.warmup, '--warmup', 5);
  const iters = positive(flags.iters, '--iters', 20);
  const latencyIters = positive(flags['latency-iters'], '--latency-iters', 100);
  const python = flags.python ?? process.env.PYTHON ?? 'python3';

  const backend = cudaBackendOrExit();
  const info = backend.info();
  process.stdout.write(`ours: ${JSON.stringify(info)}\n`);

  let baseline: PyTorchBaseline | null = null;
  let torchInfo: BaselineInfo | null = null;
  if (!flags['no-pytorch']) {
    const reason = torchUnavailableReason(python);
    if (reason) {
      process.stdout.write(`PyTorch baseline skipped: ${reason}\n`);
    } else {
      baseline = new PyTorchBaseline(python, 'cuda');
      try {
        torchInfo = await baseline.info();
        process.stdout.write(`PyTorch ${torchInfo.torch} on ${torchInfo.gpu} (cuDNN ${torchInfo.cudnn})\n`);
      } catch (error) {
        process.stdout.write(`PyTorch baseline skipped: ${(error as Error).message}\n`);
        baseline.close();
        baseline = null;
      }
    }
  }

  const records: GpuRecord[] = [];
  try {
    for (const preset of presets) {
      for (const mathMode of modes) {
        const plan: { task: Task; batch: number; warmup: number; iters: number }[] = [
          { task: 'train', batch, warmup, iters },
          { task: 'inference', batch, warmup, iters },
          { task: 'latency', batch: 1, warmup: Math.max(warmup, 20), iters: latencyIters },
        ];
        for (const m of plan) {
          const options = { preset, batchSize: m.batch, backend, mathMode, warmup: m.warmup, iterations: m.iters };
          const ours: StepBenchmark = m.task === 'train' ? await benchmarkTraining(options) : await benchmarkInference(options);
          let pytorch: GpuRecord['pytorch'] = null;
          if (baseline) {
            const samples = await baseline.step({
              task: m.task === 'train' ? 'train' : 'inference',
              preset,
              batch: m.batch,
              warmup: m.warmup,
              iters: m.iters,
              tf32: mathMode === 'tf32',
              bf16: mathMode === 'bf16',
            });
            const timing = summarize(samples);
            pytorch = { timing, imagesPerSecond: m.batch / (timing.medianMs / 1000) };
          }
          records.push(record(preset, mathMode, m.task, m.batch, ours, pytorch));
          process.stdout.write('.');
        }
      }
    }
  } finally {
    baseline?.close();
  }
  process.stdout.write('\n\n');
  process.stdout.write(`${table(records)}\n`);
  process.stdout.write('speedup = ours img/s / PyTorch img/s (higher is better); latency ratio = ours ms / PyTorch ms (lower is better)\n');
  if (flags.json) {
    writeFileSync(
      flags.json,
      JSON.stringify({ environment: { ours: info, pytorch: torchInfo, date: new Date().toISOString() }, records }, null, 1),
    );
    process.stdout.write(`wrote ${flags.json}\n`);
  }
}

function record(
  preset: PresetName,
  mathMode: MathMode,
  task: Task,
  batch: number,
  ours: StepBenchmark,
  pytorch: GpuRecord['pytorch'],
): GpuRecord {
  const target = TARGETS[`${preset}/${task}`];
  let ratio: number | null = null;
  let met: boolean | null = null;
  let targetText: string | null = null;
  if (pytorch) {
    ratio = task === 'latency' ? ours.timing.medianMs / pytorch.timing.medianMs : ours.imagesPerSecond / pytorch.imagesPerSecond;
  }
  if (target?.speedupAtLeast !== undefined) {
    targetText = `>= ${target.speedupAtLeast}`;
    met = ratio === null ? null : ratio >= target.speedupAtLeast;
  } else if (target?.latencyAtMost !== undefined) {
    targetText = `<= ${target.latencyAtMost}`;
    met = ratio === null ? null : ratio <= target.latencyAtMost;
  }
  return {
    preset,
    mathMode,
    task,
    batch,
    ours: { timing: ours.timing, imagesPerSecond: ours.imagesPerSecond },
    pytorch,
    ratio,
    target: targetText,
    met,
  };
}

function table(records: GpuRecord[]): string {
  const rows = records.map((r): Cell[] => [
    r.preset,
    r.mathMode,
    r.task === 'latency' ? 'latency (batch 1)' : r.task,
    r.batch,
    r.ours.imagesPerSecond,
    r.pytorch?.imagesPerSecond ?? null,
    r.ours.timing.medianMs,
    r.pytorch?.timing.medianMs ?? null,
    r.ratio,
    r.target ?? '',
    r.met === null ? '' : r.met ? 'yes' : 'NO',
  ]);
  return formatTable(
    [
      { header: 'preset' },
      { header: 'math' },
      { header: 'task' },
      { header: 'batch', digits: 0 },
      { header: 'ours img/s', digits: 0 },
      { header: 'torch img/s', digits: 0 },
      { header: 'ours ms', digits: 3 },
      { header: 'torch ms', digits: 3 },
      { header: 'ratio', digits: 2 },
      { header: 'target' },
      { header: 'met' },
    ],
    rows,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:gpu failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
