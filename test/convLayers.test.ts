/**
 * The per-convolution diagnosis (bench/convLayers.ts, bench/convCompare.ts) on the CPU build, so
 * that its plumbing is known to work before a GPU session depends on it: the layer lists come from
 * the presets and agree with PyTorch's script (bench/torch_conv_layers.py, run here on the CPU),
 * the report has that script's shape, the engine log lines are attributed to the right direction
 * and summarized, the comparison matches rows and refuses reports of different convolutions, and
 * both command lines run. Speeds are not checked (this machine's timings are noise).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { compareConvLayers, comparisonTable, summarizeEngine, type TorchConvReport } from '../bench/convCompare';
import { convLayersOf, logFileReader, measureConvLayers, type ConvLayersReport } from '../bench/convLayers';
import { getBackend } from '../lib/index';
import { ciRequiresEverything } from './helpers';
import { pythonEnv, torchAvailable } from './python';

const root = path.join(__dirname, '..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'alexnet-conv-layers-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function tsx(script: string, args: string[]) {
  return spawnSync(process.execPath, [path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), script, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ALEXNET_QUIET: '1' },
    timeout: 120_000,
  });
}

describe('per-convolution diagnosis', () => {
  it("lists each preset's convolutions with the shapes a batch gives them", () => {
    const tv = convLayersOf('torchvision', 4, 1);
    expect(tv.map((l) => [l.layer, l.module, l.input, l.weight, l.stride, l.padding.top, l.groups])).toEqual([
      ['conv1', 'features.0', [4, 3, 224, 224], [64, 3, 11, 11], [4, 4], 2, 1],
      ['conv2', 'features.3', [4, 64, 27, 27], [192, 64, 5, 5], [1, 1], 2, 1],
      ['conv3', 'features.6', [4, 192, 13, 13], [384, 192, 3, 3], [1, 1], 1, 1],
      ['conv4', 'features.8', [4, 384, 13, 13], [256, 384, 3, 3], [1, 1], 1, 1],
      ['conv5', 'features.10', [4, 256, 13, 13], [256, 256, 3, 3], [1, 1], 1, 1],
    ]);
    const paper = convLayersOf('paper', 2, 1);
    expect(paper.map((l) => [l.input.slice(1), l.weight, l.groups])).toEqual([
      [[3, 227, 227], [96, 3, 11, 11], 1],
      [[96, 27, 27], [256, 48, 5, 5], 2],
      [[256, 13, 13], [384, 256, 3, 3], 1],
      [[384, 13, 13], [384, 192, 3, 3], 2],
      [[384, 13, 13], [256, 192, 3, 3], 2],
    ]);
    // SAME padding resolves to explicit, possibly unequal, sides.
    const seed = convLayersOf('seed-tf', 1, 1);
    expect(seed[0].padding).toEqual({ top: 3, bottom: 4, left: 3, right: 4 });
  });

  it('times every direction on the CPU build and attributes the engine lines to their direction', async () => {
    const backend = getBackend('cpu');
    let call = 0;
    const report = await measureConvLayers({
      backend,
      presets: ['paper'],
      modes: ['fp32', 'tf32'],
      batch: 2,
      width: 0.0625,
      warmup: 0,
      iters: 1,
      repeat: 1,
      engineLog: () => [`line ${call++}`],
    });
    expect(backend.mathMode).toBe('fp32');
    expect(report.environment).toMatchObject({ backend: 'cpu', batch: 2, width: 0.0625, cudnn: null });
    expect(report.layers.map((r) => `${r.model}/${r.mode}/${r.layer}`)).toEqual(
      ['fp32', 'tf32'].flatMap((mode) => [1, 2, 3, 4, 5].map((i) => `paper/${mode}/conv${i}`)),
    );
    for (const row of report.layers) {
      for (const ms of [row.forward_ms, row.forward_relu_ms, row.backward_filter_ms]) {
        expect(Number.isFinite(ms) && ms > 0, `${row.model}/${row.layer}: ${ms}`).toBe(true);
      }
      expect(row.forward_kernels).toEqual([]);
      if (row.layer === 'conv1') {
        expect(row.backward_data_ms).toBeUndefined();
        expect(row.backward_data_engine).toBeUndefined();
      } else {
        expect(row.backward_data_ms).toBeGreaterThan(0);
      }
    }
    // Each direction gets the lines written while it ran (the log is read once before each layer).
    const first = report.layers[0];
    expect([first.forward_engine, first.forward_relu_engine, first.backward_filter_engine]).toEqual([['line 1'], ['line 2'], ['line 3']]);
    const second = report.layers[1];
    expect([second.forward_engine, second.forward_relu_engine, second.backward_data_engine, second.backward_filter_engine]).toEqual([
      ['line 5'],
      ['line 6'],
      ['line 7'],
      ['line 8'],
    ]);
  });

  it('reads the engine log file incrementally', () => {
    const file = path.join(tmp, 'engines.log');
    const read = logFileReader(file);
    expect(read()).toEqual([]);
    writeFileSync(file, 'alexnet cuda: conv a\nalexnet cuda: conv b\n');
    expect(read()).toEqual(['conv a', 'conv b']);
    writeFileSync(file, 'alexnet cuda: conv a\nalexnet cuda: conv b\nalexnet cuda: conv c\n');
    expect(read()).toEqual(['conv c']);
    expect(read()).toEqual([]);
  });

  it('summarizes the engine lines that native/cuda/conv2d*.cc write', () => {
    const key = 'n128 c64 h27 w27 o192 k5x5 g1 s1x1 p2,2,2,2 f32 nchw tf32 nondeterministic a16';
    const plain = `conv forward ${key}: graph engine 7 knobs 2=3,5=1, 0.4012 ms, workspace 1024 bytes, notes tensor_core; searched: 30 offered, 12 distinct, 2 refused by the rules, 1 without a plan, 0 over the workspace bound, 0 failed to run, 9 timed, in 812 ms`;
    const fused = `conv forward+bias ${key}: graph engine 40 knobs -, 0.3900 ms, workspace 0 bytes, notes tensor_core,strict_nan_prop,runtime_compilation; searched: 3 offered, 3 distinct, 0 refused by the rules, 0 without a plan, 0 over the workspace bound, 0 failed to run, 3 timed, in 2100 ms`;
    expect(summarizeEngine([fused, plain, `conv forward+bias ${key}: fused 0.3900 ms, separate 0.4500 ms: fused`])).toBe(
      'fused engine 40 knobs -',
    );
    expect(summarizeEngine([fused, plain, `conv forward+bias ${key}: fused 0.4900 ms, separate 0.4500 ms: separate`])).toBe(
      'engine 7 knobs 2=3,5=1 + our epilogue',
    );
    expect(
      summarizeEngine([
        `conv forward ${key}: graph engine 7 knobs -, 0.4000 ms when chosen, workspace 0 bytes, notes -; from the plan cache`,
      ]),
    ).toBe('engine 7 knobs -');
    expect(
      summarizeEngine([
        `conv backward_filter ${key}: graph engine 3 knobs -, 0.5000 ms, workspace 0 bytes, notes -; searched: ...`,
        `conv backward_filter ${key}: bias gradient beside 0.5100 ms, inline 0.5300 ms: beside`,
      ]),
    ).toBe('engine 3 knobs -; bias grad beside');
    expect(
      summarizeEngine([
        `conv backward_data ${key}: no graph plan (no usable engine (...)); the legacy engine runs it`,
        'conv legacy backward-data convolution of input [128, 64, 27, 27] with weight [192, 64, 5, 5] (stride 1x1, cuDNN padding 2x2, groups 1, tf32): algorithm 1, tensor-op math, workspace 0 bytes, 0.6000 ms',
      ]),
    ).toBe('legacy algorithm 1, tensor-op math');
    expect(summarizeEngine([])).toBe('(chosen before)');
    expect(summarizeEngine(['cpu build'])).toBe('cpu build');
  });

  it("matches our rows with PyTorch's script's, run on the CPU, and both command lines work", async (ctx) => {
    const torch = torchAvailable();
    if (!torch.ok) {
      if (ciRequiresEverything) throw new Error(torch.reason);
      ctx.skip(torch.reason);
    }
    const torchFile = path.join(tmp, 'torch.json');
    const py = spawnSync(
      'python3',
      [
        path.join(root, 'bench', 'torch_conv_layers.py'),
        '--batch',
        '1',
        '--models',
        'torchvision',
        '--modes',
        'fp32',
        '--warmup',
        '0',
        '--iters',
        '1',
        '--json',
        torchFile,
      ],
      { env: pythonEnv(), encoding: 'utf8', timeout: 120_000 },
    );
    expect(py.status, py.stderr).toBe(0);
    const theirs = JSON.parse(readFileSync(torchFile, 'utf8')) as TorchConvReport;

    const ours: ConvLayersReport = await measureConvLayers({
      backend: getBackend('cpu'),
      presets: ['torchvision'],
      modes: ['fp32'],
      batch: 1,
      width: 1,
      warmup: 0,
      iters: 1,
      repeat: 1,
    });
    const { rows, mismatches } = compareConvLayers(ours, theirs);
    expect(mismatches).toEqual([]);
    // 5 layers: forward, forward with ReLU (ours alone) and backward-filter each, backward-data for 4.
    expect(rows).toHaveLength(5 * 3 + 4);
    for (const r of rows.filter((x) => x.direction !== 'forward_relu')) {
      expect(r.ratio !== null && Number.isFinite(r.ratio) && r.ratio > 0, JSON.stringify(r)).toBe(true);
    }
    expect(comparisonTable(rows)).toContain('backward_filter');
    expect(comparisonTable(rows, true).split('\n')[1]).toMatch(/^\|(---\|){9}$/);

    // A report of other shapes (another width) is refused, naming what differs.
    const narrow = { ...ours, layers: ours.layers.map((l) => ({ ...l, weight: [l.weight[0] / 2, ...l.weight.slice(1)] })) };
    expect(compareConvLayers(narrow, theirs).mismatches[0]).toMatch(
      /^torchvision\/fp32\/conv1: weight ours \[32,3,11,11\] PyTorch \[64,3,11,11\]$/,
    );

    // The command lines: ours on the CPU build, then the comparison (exit 0 when the rows agree,
    // 1 when they describe other convolutions).
    const oursFile = path.join(tmp, 'ours.json');
    writeFileSync(oursFile, JSON.stringify(ours));
    const compared = tsx('bench/convCompare.ts', [oursFile, torchFile, '--markdown', path.join(tmp, 'table.md')]);
    expect(compared.status, compared.stderr).toBe(0);
    expect(compared.stdout).toMatch(/\d+ of 14 directions slower than PyTorch/);
    expect(readFileSync(path.join(tmp, 'table.md'), 'utf8')).toContain('| torchvision | fp32 | conv1 | forward |');

    const tinyFile = path.join(tmp, 'tiny.json');
    const measured = tsx('bench/convLayers.ts', [
      '--backend',
      'cpu',
      '--presets',
      'torchvision',
      '--modes',
      'fp32',
      '--batch',
      '1',
      '--width',
      '0.0625',
      '--warmup',
      '0',
      '--iters',
      '1',
      '--repeat',
      '1',
      '--json',
      tinyFile,
    ]);
    expect(measured.status, measured.stderr).toBe(0);
    expect((JSON.parse(readFileSync(tinyFile, 'utf8')) as ConvLayersReport).layers).toHaveLength(5);
    const refused = tsx('bench/convCompare.ts', [tinyFile, torchFile]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('do not describe the same convolutions');
  });
});
