/**
 * Our side of the per-convolution comparison with PyTorch (bench/torch_conv_layers.py is PyTorch's):
 * for every convolution of the chosen presets at one batch size and each math mode, the time of
 * forward (conv + bias, as PyTorch's F.conv2d), backward-data and backward-filter (with the bias
 * gradient, as PyTorch's convolution_backward), and, on the CUDA build, what the engine chose for
 * each (the `ALEXNET_CUDA_LOG=1` lines of that call, read from `ALEXNET_CUDA_LOG_FILE`). Also the
 * forward with the fused ReLU, which is what a training step runs. The JSON has the shape of
 * torch_conv_layers.py's (`environment`, `layers` with `<direction>_ms` and `<direction>_kernels`),
 * plus `<direction>_engine`; bench/convCompare.ts sets the two side by side.
 *
 *     npx tsx bench/convLayers.ts --json ours.json                       # CUDA, torchvision and paper, fp32 and tf32, batch 128
 *     npx tsx bench/convLayers.ts --backend cpu --batch 2 --width 0.25   # the same plumbing on the CPU build
 *
 * How a direction is timed: its first calls (`--warmup`) choose the plans and are not timed; then
 * each of `--iters` samples is the wall time of `--repeat` calls queued back to back, from an idle
 * device to the last result in memory, divided by `--repeat`; the median is reported. Inputs stay
 * on the device and outputs are freed as soon as they are queued (the caching allocator reuses
 * their memory), as in a training step. The image layer (conv1) has no backward-data row, as in
 * training and in PyTorch's script.
 * @module
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { getBackend, type Backend, type BackendKind, type MathMode } from '../lib/backend/backend';
import { callNative } from '../lib/errors';
import { createAlexNet, type PresetName } from '../lib/models/alexnet';
import { Conv2d } from '../lib/nn/conv2d';
import { Sequential } from '../lib/nn/sequential';
import { conv2d, conv2dBackwardData, conv2dBackwardFilter, type Conv2dOptions } from '../lib/ops/conv2d';
import { Tensor } from '../lib/tensor';
import { nonNegative, parseFlags, positive, presetList } from './options';

/** The directions timed, in PyTorch's script's names. */
export const DIRECTIONS = ['forward', 'backward_data', 'backward_filter'] as const;
export type ConvDirection = (typeof DIRECTIONS)[number];

/** One convolution of a preset, at a batch size. */
export interface ConvLayer {
  /** conv1, conv2, ... in forward order (PyTorch's script's names). */
  layer: string;
  /** The module's name in the model ('features.0'). */
  module: string;
  input: number[];
  weight: number[];
  stride: [number, number];
  padding: { top: number; bottom: number; left: number; right: number };
  groups: number;
}

/** One row of the report: a convolution in one math mode. */
export interface ConvLayerRow {
  model: PresetName;
  mode: MathMode;
  layer: string;
  module: string;
  input: number[];
  weight: number[];
  /** One number when square, as PyTorch's script writes it, else [height, width]. */
  stride: number | number[];
  /** One number when the same on every side, else [top, bottom, left, right]. */
  padding: number | number[];
  groups: number;
  forward_ms: number;
  backward_data_ms?: number;
  backward_filter_ms: number;
  /** conv + bias + ReLU, the forward a training step runs (fused where the engine chose so). */
  forward_relu_ms: number;
  /** Kernel names and times, as PyTorch's script records them; ours are not captured (empty). */
  forward_kernels: [string, number][];
  backward_data_kernels?: [string, number][];
  backward_filter_kernels: [string, number][];
  /** The engine log lines of the direction's first calls (CUDA build), or what computed it. */
  forward_engine: string[];
  forward_relu_engine: string[];
  backward_data_engine?: string[];
  backward_filter_engine: string[];
}

/** The whole report, in the shape of torch_conv_layers.py's JSON. */
export interface ConvLayersReport {
  environment: {
    ours: string;
    backend: BackendKind;
    device: string;
    cudnn: string | null;
    batch: number;
    width: number;
    /** ALEXNET_CUDA_CONV and ALEXNET_CUDA_CONV_FUSION as the run had them ('auto' when unset). */
    convPath: string;
    convFusion: string;
    warmup: number;
    iters: number;
    repeat: number;
    date: string;
  };
  layers: ConvLayerRow[];
}

/** What to measure. */
export interface ConvLayersOptions {
  backend: Backend;
  presets: PresetName[];
  modes: MathMode[];
  batch: number;
  /** Channel-width multiplier of the presets (1: the published sizes). */
  width: number;
  warmup: number;
  iters: number;
  repeat: number;
  /** Returns the engine log lines written since the last call (CUDA build), or null. */
  engineLog?: (() => string[]) | null;
  /** Called with each finished row (progress). */
  onRow?: (row: ConvLayerRow) => void;
}

/** The convolutions of a preset, in forward order, with the shapes a batch gives them. */
export function convLayersOf(preset: PresetName, batch: number, width: number): ConvLayer[] {
  const model = createAlexNet({ preset, width, backend: 'cpu' });
  try {
    const shapes = new Map(model.layerShapes(batch));
    const out: ConvLayer[] = [];
    let input = [batch, model.config.inChannels, model.config.inputSize, model.config.inputSize];
    for (const [name, child] of model.network.children()) {
      const layers = child instanceof Sequential ? child.children() : [];
      for (const [sub, layer] of layers) {
        const moduleName = `${name}.${sub}`;
        if (layer instanceof Conv2d) {
          out.push({
            layer: `conv${out.length + 1}`,
            module: moduleName,
            input,
            weight: [...layer.weight.value.shape],
            stride: [...layer.stride],
            padding: layer.paddingFor(input[2], input[3]),
            groups: layer.groups,
          });
        }
        input = shapes.get(moduleName) ?? input;
      }
      if (name === 'features') break;
    }
    return out;
  } finally {
    model.dispose();
  }
}

function drain(backend: Backend): void {
  callNative(() => backend.native.synchronizeBlocking());
}

/** Median milliseconds per call of `call` (which queues one call and frees its outputs). */
function timeCalls(backend: Backend, call: () => void, o: ConvLayersOptions): number {
  for (let i = 0; i < o.warmup; ++i) call();
  drain(backend);
  const samples: number[] = [];
  for (let i = 0; i < o.iters; ++i) {
    drain(backend);
    const start = performance.now();
    for (let r = 0; r < o.repeat; ++r) call();
    drain(backend);
    samples.push((performance.now() - start) / o.repeat);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

function compact(values: number[]): number | number[] {
  return values.every((v) => v === values[0]) ? values[0] : values;
}

/** Times every convolution of the presets in every mode; see the module's comment for how. */
export async function measureConvLayers(o: ConvLayersOptions): Promise<ConvLayersReport> {
  const backend = o.backend;
  const info = backend.info();
  const previousMode = backend.mathMode;
  const engines = (): string[] => o.engineLog?.() ?? [`${backend.kind} build`];
  const rows: ConvLayerRow[] = [];
  let seed = 1;
  try {
    for (const model of o.presets) {
      const layers = convLayersOf(model, o.batch, o.width);
      for (const mode of o.modes) {
        backend.setMathMode(mode);
        for (const l of layers) {
          const options: Conv2dOptions = { stride: l.stride, padding: l.padding, groups: l.groups };
          const out = conv2dOutputShape(l);
          const fanIn = l.weight.slice(1).reduce((a, b) => a * b, 1);
          const bound = 1 / Math.sqrt(fanIn);
          const x = Tensor.uniform(l.input, { low: -1, high: 1, seed: seed++ }, { backend });
          const w = Tensor.uniform(l.weight, { low: -bound, high: bound, seed: seed++ }, { backend });
          const b = Tensor.uniform([l.weight[0]], { low: -bound, high: bound, seed: seed++ }, { backend });
          const dy = Tensor.uniform(out, { low: -1, high: 1, seed: seed++ }, { backend });
          try {
            engines(); // lines before this layer belong to no direction of it
            const forward_ms = timeCalls(backend, () => conv2d(x, w, b, options).dispose(), o);
            const forward_engine = engines();
            const forward_relu_ms = timeCalls(backend, () => conv2d(x, w, b, { ...options, relu: true }).dispose(), o);
            const forward_relu_engine = engines();
            let backward_data_ms: number | undefined;
            let backward_data_engine: string[] | undefined;
            if (l.layer !== 'conv1') {
              backward_data_ms = timeCalls(backend, () => conv2dBackwardData(dy, w, l.input, options).dispose(), o);
              backward_data_engine = engines();
            }
            const backward_filter_ms = timeCalls(
              backend,
              () => {
                const g = conv2dBackwardFilter(x, dy, l.weight, { ...options, bias: true });
                g.gradWeight.dispose();
                g.gradBias?.dispose();
              },
              o,
            );
            const backward_filter_engine = engines();
            const row: ConvLayerRow = {
              model,
              mode,
              layer: l.layer,
              module: l.module,
              input: l.input,
              weight: l.weight,
              stride: compact(l.stride),
              padding: compact([l.padding.top, l.padding.bottom, l.padding.left, l.padding.right]),
              groups: l.groups,
              forward_ms,
              ...(backward_data_ms === undefined ? {} : { backward_data_ms }),
              backward_filter_ms,
              forward_relu_ms,
              forward_kernels: [],
              ...(backward_data_ms === undefined ? {} : { backward_data_kernels: [] }),
              backward_filter_kernels: [],
              forward_engine,
              forward_relu_engine,
              ...(backward_data_engine === undefined ? {} : { backward_data_engine }),
              backward_filter_engine,
            };
            rows.push(row);
            o.onRow?.(row);
          } finally {
            for (const t of [x, w, b, dy]) t.dispose();
          }
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
    }
  } finally {
    backend.setMathMode(previousMode);
  }
  const text = (key: string): string | null => {
    const v = info[key];
    return v === undefined ? null : String(v);
  };
  return {
    environment: {
      ours: 'alexnet-cuda',
      backend: backend.kind,
      device: text('device') ?? os.cpus()[0]?.model ?? 'cpu',
      cudnn: text('cudnnVersion'),
      batch: o.batch,
      width: o.width,
      convPath: process.env.ALEXNET_CUDA_CONV || 'auto',
      convFusion: process.env.ALEXNET_CUDA_CONV_FUSION || 'auto',
      warmup: o.warmup,
      iters: o.iters,
      repeat: o.repeat,
      date: new Date().toISOString(),
    },
    layers: rows,
  };
}

function conv2dOutputShape(l: ConvLayer): number[] {
  const [n, , h, w] = l.input as [number, number, number, number];
  const [, , kh, kw] = l.weight as [number, number, number, number];
  const oh = Math.floor((h + l.padding.top + l.padding.bottom - kh) / l.stride[0]) + 1;
  const ow = Math.floor((w + l.padding.left + l.padding.right - kw) / l.stride[1]) + 1;
  return [n, l.weight[0], oh, ow];
}

/**
 * Reads what the CUDA build appends to ALEXNET_CUDA_LOG_FILE: each call returns the lines written
 * since the previous one, without the "alexnet cuda: " prefix.
 */
export function logFileReader(file: string): () => string[] {
  let offset = 0;
  return () => {
    if (!existsSync(file)) return [];
    const all = readFileSync(file);
    const fresh = all.subarray(offset).toString('utf8');
    offset = all.length;
    return fresh
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => line.replace(/^alexnet cuda: /, ''));
  };
}

const USAGE = `usage: npx tsx bench/convLayers.ts [--backend cuda|cpu] [--presets torchvision,paper] [--modes fp32,tf32]
       [--batch 128] [--width 1] [--warmup 3] [--iters 10] [--repeat 5] [--json FILE]
`;

async function main(): Promise<void> {
  const flags = parseFlags(
    {
      backend: { type: 'string' },
      presets: { type: 'string' },
      modes: { type: 'string' },
      batch: { type: 'string' },
      width: { type: 'string' },
      warmup: { type: 'string' },
      iters: { type: 'string' },
      repeat: { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean' },
    },
    USAGE,
  );
  if (flags.help) {
    process.stdout.write(USAGE);
    return;
  }
  const kind = flags.backend ?? 'cuda';
  if (kind !== 'cuda' && kind !== 'cpu') throw new TypeError(`expected cuda or cpu for --backend, got ${JSON.stringify(kind)}`);
  const modes = (flags.modes ?? 'fp32,tf32').split(',').map((m) => m.trim());
  for (const m of modes)
    if (m !== 'fp32' && m !== 'tf32') throw new TypeError(`expected fp32 or tf32 in --modes, got ${JSON.stringify(m)}`);
  const width = flags.width === undefined ? 1 : Number(flags.width);
  if (!(width > 0 && width <= 16)) throw new RangeError(`expected a number in (0, 16] for --width, got ${JSON.stringify(flags.width)}`);

  // The engines' choices go to a file of our own (set before the CUDA backend reads its environment).
  let logDir: string | null = null;
  let engineLog: (() => string[]) | null = null;
  if (kind === 'cuda') {
    logDir = mkdtempSync(path.join(os.tmpdir(), 'alexnet-conv-layers-'));
    const file = path.join(logDir, 'engines.log');
    process.env.ALEXNET_CUDA_LOG ||= '1';
    process.env.ALEXNET_CUDA_LOG_FILE = file;
    engineLog = logFileReader(file);
  }
  try {
    const backend = getBackend(kind);
    const report = await measureConvLayers({
      backend,
      presets: presetList(flags.presets, ['torchvision', 'paper']),
      modes: modes as MathMode[],
      batch: positive(flags.batch, '--batch', 128),
      width,
      warmup: nonNegative(flags.warmup, '--warmup', 3),
      iters: positive(flags.iters, '--iters', 10),
      repeat: positive(flags.repeat, '--repeat', 5),
      engineLog,
      onRow: (r) =>
        process.stdout.write(
          `${r.model.padEnd(12)} ${r.mode.padEnd(5)} ${r.layer}: fwd ${r.forward_ms.toFixed(3)} ms (+ReLU ${r.forward_relu_ms.toFixed(3)}), ` +
            `dgrad ${r.backward_data_ms?.toFixed(3) ?? '-'} ms, wgrad ${r.backward_filter_ms.toFixed(3)} ms\n`,
        ),
    });
    if (flags.json) {
      writeFileSync(flags.json, `${JSON.stringify(report, null, 1)}\n`);
      process.stdout.write(`wrote ${flags.json}\n`);
    }
  } finally {
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`convLayers failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
