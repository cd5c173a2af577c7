import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decodeSafetensors } from '../../lib/io/safetensors';
import { CheckpointDirectory } from '../../lib/checkpoint/directory';
import { firstDifference } from '../checkpoint/bits';
import { requireFashionMnist } from '../data/fashionMnist';
import { writeSyntheticMnist } from '../train/synthetic';
import { cliMain, ensureDist } from './dist';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'alexnet-cli-'));
const synthetic = path.join(tmp, 'synthetic-mnist');
beforeAll(() => {
  ensureDist();
  writeSyntheticMnist(synthetic, 200, 64);
});
const children = new Set<import('node:child_process').ChildProcess>();
afterAll(() => {
  // A failed or timed-out test must not leave a training process behind.
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

const env = { ...process.env, ALEXNET_QUIET: '1', ALEXNET_DEBUG: '' };

function cli(args: string[], cwd = tmp): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cliMain, ...args], { cwd, env, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A small, quick run on the synthetic bars (13 batches per epoch). */
const small = [
  '--dataset',
  'mnist',
  '--data',
  synthetic,
  '--width',
  '0.0625',
  '--input-size',
  '68',
  '--batch-size',
  '16',
  '--lr',
  '0.02',
  '--momentum',
  '0.9',
  '--init',
  'kaiming',
  '--seed',
  '3',
  '--backend',
  'cpu',
  '--progress',
  'epochs',
];

function tensorsOf(file: string): Map<string, Float32Array> {
  const decoded = decodeSafetensors(readFileSync(file), file);
  return new Map([...decoded.tensors].map(([k, v]) => [k, v.data as Float32Array]));
}

describe('alexnet CLI', () => {
  it('prints help and exits 0; usage errors are one line and exit 2', () => {
    const overview = cli(['--help']);
    expect(overview.code).toBe(0);
    expect(overview.stdout).toMatch(/commands:\n {2}train/);
    const help = cli(['train', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/The defaults are the d2l recipe/);
    for (const command of ['eval', 'predict', 'import', 'export', 'bench', 'info']) expect(cli([command, '--help']).code).toBe(0);
    const bad = cli(['train', '--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("alexnet train: Unknown option '--bogus' (see alexnet train --help)\n");
    const badNumber = cli(['train', '--lr', 'fast']);
    expect([badNumber.code, badNumber.stderr]).toEqual([2, 'alexnet train: --lr must be a number, got "fast"\n']);
    expect(cli(['frobnicate']).stderr).toMatch(
      /^alexnet: unknown command "frobnicate": use one of train, eval, predict, import, export, bench, info\n$/,
    );
    expect(cli(['predict']).code).toBe(2);
  });

  it('fails with a one-line reason (and how to fix it) when data or a checkpoint is missing', () => {
    const noData = cli(['train', '--data', path.join(tmp, 'nothing-here')]);
    expect(noData.code).toBe(1);
    expect(noData.stderr).toMatch(/^alexnet train: Fashion-MNIST was not found/);
    expect(noData.stderr).toMatch(/apt-get install dataset-fashion-mnist/);
    expect(noData.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const noCheckpoint = cli(['eval', '--checkpoint', path.join(tmp, 'nope')]);
    expect([noCheckpoint.code, noCheckpoint.stderr]).toEqual([
      1,
      `alexnet eval: ${path.join(tmp, 'nope')}: no such checkpoint file or folder\n`,
    ]);
  });

  it('--backend cuda on a machine without a usable GPU fails at once with the reason, no stack trace', (ctx) => {
    const probe = cli(['info', '--json']);
    const cuda = (JSON.parse(probe.stdout) as { backends: { cuda: { available: boolean } } }).backends.cuda;
    if (cuda.available) ctx.skip('a CUDA device is present here (test/gpu covers that case)');
    for (const command of [['train', ...small.filter((a) => a !== 'cpu' && a !== '--backend')], ['bench']]) {
      const r = cli([...command, '--backend', 'cuda']);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^alexnet ${command[0]}: the CUDA backend cannot run here`));
      // The reason: no driver or device where the CUDA build exists, or no CUDA build at all (the
      // CPU-only contributor set-up).
      expect(r.stderr).toMatch(/NVIDIA driver|no usable CUDA device|not found|no CUDA build of alexnet-cuda/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe('');
    }
  });

  it('reports versions, backends and the dataset', () => {
    const info = cli(['info']);
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/^alexnet-cuda \d+\.\d+\.\d+, Node /);
    expect(info.stdout).toMatch(/backend cpu: available/);
    expect(info.stdout).toMatch(/backend cuda: (available|not available)/);
    const json = JSON.parse(cli(['info', '--json']).stdout) as { backends: { cpu: { available: boolean } } };
    expect(json.backends.cpu.available).toBe(true);
  });

  it('benchmarks a step', () => {
    const bench = cli([
      'bench',
      '--backend',
      'cpu',
      '--preset',
      'd2l',
      '--width',
      '0.0625',
      '--batch-size',
      '2',
      '--iterations',
      '2',
      '--warmup',
      '1',
      '--json',
    ]);
    expect(bench.code).toBe(0);
    const rows = bench.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { task: string; imagesPerSecond: number });
    expect(rows.map((r) => r.task)).toEqual(['train', 'inference']);
    for (const r of rows) expect(r.imagesPerSecond).toBeGreaterThan(0);
  });

  it('--precision bf16 trains, is recorded in the checkpoints and kept on resume; a bad or conflicting value exits 2', () => {
    const dir = path.join(tmp, 'bf16');
    const first = cli(['train', ...small, '--epochs', '1', '--checkpoint-dir', dir, '--precision', 'bf16']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^backend cpu( \(.*\))?, precision bf16$/m);
    const stored = (file: string) => decodeSafetensors(readFileSync(file), file).metadata['alexnet-cuda.precision'];
    expect(stored(path.join(dir, 'model.safetensors'))).toBe('bf16');
    const resumed = cli(['train', '--resume', dir, '--epochs', '2', '--backend', 'cpu', '--progress', 'epochs']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/^backend cpu( \(.*\))?, precision bf16$/m);
    const bad = cli(['train', ...small, '--precision', 'fp16', '--checkpoint-dir', path.join(tmp, 'fp16')]);
    expect([bad.code, bad.stderr]).toEqual([2, 'alexnet train: --precision must be one of fp32, tf32, bf16, got "fp16"\n']);
    const both = cli(['bench', '--backend', 'cpu', '--precision', 'bf16', '--math', 'tf32']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--precision bf16 conflicts with --math tf32/);
  });

  it('resumes in a new process bit for bit: k steps, save, load, n - k steps equals n steps', () => {
    const straight = path.join(tmp, 'straight');
    const split = path.join(tmp, 'split');
    const whole = cli(['train', ...small, '--epochs', '2', '--checkpoint-dir', straight]);
    expect(whole.code, whole.stderr).toBe(0);
    expect(whole.stdout).toMatch(/final test accuracy \d\.\d{4} .* on 64 images/);
    expect(whole.stdout.trim().split('\n').at(-1)).toMatch(
      /^wall time \d+\.\d s in all .* 26 steps: training [\d.]+ s, evaluation [\d.]+ s, checkpoints [\d.]+ s$/,
    );

    // Stop in the middle of the second epoch; then resume with no flags but the folder.
    const first = cli(['train', ...small, '--epochs', '2', '--checkpoint-dir', split, '--stop-after-steps', '17']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/stopped after 17 steps; resume with: alexnet train --resume /);
    expect(existsSync(new CheckpointDirectory(split).fileFor(1, 17))).toBe(true);
    const second = cli(['train', '--resume', split, '--backend', 'cpu', '--progress', 'epochs']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/resuming from .*checkpoint-e0001-s000000017\.safetensors: epoch 2, batch 4, step 17/);

    const a = tensorsOf(path.join(straight, 'model.safetensors'));
    const b = tensorsOf(path.join(split, 'model.safetensors'));
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [name, values] of a) expect(firstDifference(b.get(name)!, values), name).toBe(-1);
    // Same epoch summaries (apart from timings) and the same final accuracy line.
    const summary = (out: string) =>
      out
        .split('\n')
        .filter((l) => l.startsWith('epoch 2/2') || l.startsWith('final'))
        .map((l) => l.replace(/ {2}[\d.]+ s .*$/, ''));
    expect(summary(second.stdout)).toEqual(summary(whole.stdout));
  });

  it('saves a checkpoint on Ctrl-C, exits 130, and resumes from it', async () => {
    const dir = path.join(tmp, 'interrupted');
    const child = spawn(process.execPath, [cliMain, 'train', ...small, '--epochs', '200', '--checkpoint-dir', dir], { cwd: tmp, env });
    children.add(child);
    let stdout = '';
    const code = await new Promise<number | null>((resolve) => {
      const guard = setTimeout(() => child.kill('SIGKILL'), 90_000); // never hang the suite
      child.on('exit', () => clearTimeout(guard));
      child.stdout.on('data', (c: Buffer) => {
        const before = stdout;
        stdout += c.toString();
        // Interrupt once the first epoch is done (training is under way).
        if (!before.includes('epoch 1/200') && stdout.includes('epoch 1/200')) child.kill('SIGINT');
      });
      child.on('exit', (c) => resolve(c));
    });
    expect(code).toBe(130);
    expect(stdout).toMatch(/SIGINT: stopping after this step and saving a checkpoint/);
    const steps = Number(/interrupted after (\d+) steps; resume with: alexnet train --resume/.exec(stdout)?.[1]);
    expect(steps).toBeGreaterThanOrEqual(13);
    const latest = await new CheckpointDirectory(dir).latest();
    expect(latest?.step).toBe(steps);
    const resumed = cli([
      'train',
      '--resume',
      dir,
      '--epochs',
      String(Math.floor(steps / 13) + 1),
      '--backend',
      'cpu',
      '--progress',
      'epochs',
    ]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/final test accuracy/);
  });

  it('trains on Fashion-MNIST, saves, resumes, evaluates and predicts', (ctx) => {
    const data = requireFashionMnist(ctx);
    const dir = path.join(tmp, 'fashion');
    const flags = [
      '--width',
      '0.0625',
      '--input-size',
      '68',
      '--train-subset',
      '512',
      '--val-subset',
      '256',
      '--epochs',
      '1',
      '--batch-size',
      '32',
    ];
    const common = ['--backend', 'cpu', '--progress', 'epochs', '--checkpoint-dir', dir];
    const stopped = cli(['train', ...flags, ...common, '--data', data, '--stop-after-steps', '8']);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stdout).toMatch(/on fashion-mnist: 512 training and 256 test images, 10 classes/);
    const resumed = cli(['train', '--resume', dir, ...common]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/final test accuracy [\d.]+ .* on 256 images/);
    const model = path.join(dir, 'model.safetensors');
    expect(existsSync(model)).toBe(true);
    expect(existsSync(path.join(dir, 'curves.png'))).toBe(true);

    const evaluated = cli(['eval', '--checkpoint', dir, '--subset', '300', '--backend', 'cpu']);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(evaluated.stdout).toMatch(/^test accuracy \d\.\d{4} \(top-5 \d\.\d{4}, loss \d\.\d{4}\) on 300 images of fashion-mnist/);

    const images = path.join(data, 't10k-images-idx3-ubyte.gz');
    const predicted = cli(['predict', '--checkpoint', model, '--idx', images, '--count', '3', '--topk', '2', '--backend', 'cpu']);
    expect(predicted.code, predicted.stderr).toBe(0);
    const lines = predicted.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    // Fashion-MNIST's first test image is an ankle boot.
    expect(lines[0]).toMatch(/^t10k-images-idx3-ubyte\.gz\[0\]: [^,]+ \d\.\d{4}, [^,]+ \d\.\d{4} {2}\(true: Ankle boot\)$/);
    const json = cli(['predict', '-c', model, '--idx', images, '--start', '1', '--count', '1', '--json', '--backend', 'cpu']);
    const row = JSON.parse(json.stdout) as { input: string; truth: string; topk: { label: string; probability: number }[] };
    expect(row.input).toBe('t10k-images-idx3-ubyte.gz[1]');
    expect(row.topk).toHaveLength(5);
    expect(row.truth).toBe('Pullover');
  });
});
