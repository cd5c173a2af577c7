/**
 * `alexnet train --from`, `--freeze`, `--early-stopping`, `--restore-best` on small models and the
 * synthetic bars: the head replaced for the dataset's classes, the frozen part unchanged, a resume
 * that freezes again, and one clear message for each kind of bad input.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadModel, saveCheckpoint } from '../../lib/checkpoint/format';
import { encodeSafetensors } from '../../lib/io/safetensors';
import { createAlexNet } from '../../lib/models/alexnet';
import { writeSyntheticMnist } from '../train/synthetic';
import { cliMain, ensureDist } from './dist';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'alexnet-cli-finetune-'));
const data = path.join(tmp, 'bars');
const pretrained = path.join(tmp, 'pretrained.safetensors');
const stateDict = path.join(tmp, 'state-dict.safetensors');
const env = { ...process.env, ALEXNET_QUIET: '1', ALEXNET_DEBUG: '' };

beforeAll(async () => {
  ensureDist();
  writeSyntheticMnist(data, 96, 32);
  // "Pretrained": a 10-class d2l model at a sixteenth of the width, 68x68.
  const model = createAlexNet({ preset: 'd2l', width: 0.0625, inputSize: 68, numClasses: 10, seed: 5, backend: 'cpu' });
  await saveCheckpoint(pretrained, model);
  // The same weights as a bare state_dict (no configuration), as other tools write them.
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, p] of model.namedParameters())
    tensors[name] = { shape: [...p.value.shape], data: (await p.value.toArray()) as Float32Array };
  writeFileSync(stateDict, encodeSafetensors(tensors, {}));
  model.dispose();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cliMain, 'train', ...args], { cwd: tmp, env, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const run = [
  '--dataset',
  'mnist',
  '--data',
  data,
  '--batch-size',
  '16',
  '--lr',
  '0.02',
  '--momentum',
  '0.9',
  '--backend',
  'cpu',
  '--progress',
  'epochs',
];

describe('alexnet train --from', () => {
  it('fine-tunes with a new 4-class head and frozen features, stops early, and a resume freezes again', async () => {
    const dir = path.join(tmp, 'run');
    const r = cli([
      '--from',
      pretrained,
      ...run,
      '--freeze',
      'features',
      '--epochs',
      '4',
      '--early-stopping',
      'valLoss:0',
      '--restore-best',
      '--checkpoint-dir',
      dir,
    ]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain(`starting from ${pretrained} (d2l AlexNet, 10 classes)`);
    expect(r.stdout).toContain('replaced the 10-class output layer with a new 4-class one');
    expect(r.stdout).toMatch(/M trainable \(frozen: features\)/);
    const source = await loadModel(pretrained, { backend: 'cpu' });
    const tuned = await loadModel(path.join(dir, 'model.safetensors'), { backend: 'cpu' });
    expect(tuned.config.numClasses).toBe(4);
    expect(tuned.classes).toHaveLength(4);
    const before = new Map(source.namedParameters());
    for (const [name, p] of tuned.namedParameters()) {
      if (name.startsWith('features.'))
        expect(Array.from(await p.value.toArray()), name).toEqual(Array.from(await before.get(name)!.value.toArray()));
    }
    source.dispose();
    tuned.dispose();
    // patience 0: the run stops at the first epoch that does not improve (or runs all 4).
    const epochs = (r.stdout.match(/^epoch \d\/4 /gm) ?? []).length;
    expect(epochs).toBeGreaterThan(0);
    if (epochs < 4) {
      expect(r.stdout).toMatch(new RegExp(`stopped early after epoch ${epochs} of 4: valLoss did not improve`));
      expect(r.stdout).toMatch(/test accuracy of epoch \d \(the saved weights\)/);
    }

    const resumed = cli(['--resume', dir, '--epochs', String(epochs + 1), '--backend', 'cpu', '--progress', 'epochs']);
    expect(resumed.code, resumed.stderr + resumed.stdout).toBe(0);
    expect(resumed.stdout).toMatch(new RegExp(`^epoch ${epochs + 1}/${epochs + 1} `, 'm'));
    expect(resumed.stdout).toMatch(/M trainable \(frozen: features\)/);
  });

  it('a bare state_dict takes its model from the flags; weights that do not fit are one error naming the parameter', () => {
    const ok = cli([
      '--from',
      stateDict,
      ...run,
      '--width',
      '0.0625',
      '--input-size',
      '68',
      '--epochs',
      '1',
      '--checkpoint-dir',
      path.join(tmp, 'bare'),
    ]);
    expect(ok.code, ok.stderr + ok.stdout).toBe(0);
    expect(ok.stdout).toContain('replaced the 10-class output layer with a new 4-class one');

    const wrong = cli(['--from', stateDict, ...run, '--input-size', '68', '--epochs', '1', '--checkpoint-dir', path.join(tmp, 'wrong')]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(
      /^alexnet train: --from .*state-dict\.safetensors: the weights do not fit the d2l preset \(10 classes, width 1, input 1x68x68\): parameter "features\.0\.weight" has shape \[6, 1, 11, 11\], the model's is \[96, 1, 11, 11\]; check --preset, --width, --in-channels and --input-size\n$/,
    );
  });

  it('bad flags are usage errors (exit 2) saying what was expected', () => {
    const cases: [string[], RegExp][] = [
      [
        ['--from', path.join(tmp, 'alexnet.pth')],
        /--from .*alexnet\.pth: takes a \.safetensors model file; convert PyTorch weights first with: alexnet import/,
      ],
      [
        ['--from', pretrained, '--freeze', 'featurs'],
        /--freeze: no block or parameter named "featurs"; expected one of "features", "features\.0"/,
      ],
      [['--from', pretrained, '--freeze', 'features,'], /--freeze takes comma-separated block or parameter names/],
      [
        ['--early-stopping', 'loss:3'],
        /--early-stopping takes METRIC\[:PATIENCE\[:MIN_DELTA\]\] with METRIC one of valLoss, valTop1, valTop5/,
      ],
      [['--early-stopping', 'valLoss:x'], /--early-stopping takes/],
      [['--restore-best'], /--restore-best goes with --early-stopping/],
      [
        ['--from', pretrained, '--resume', path.join(tmp, 'run')],
        /--resume continues a run .* and --from starts one from given weights: give one of them/,
      ],
      [['--from', pretrained, '--preset', 'paper'], /--preset paper conflicts with the d2l of --from .*: the model comes from that file/],
    ];
    for (const [args, message] of cases) {
      const r = cli([...args, ...run, '--epochs', '1', '--checkpoint-dir', path.join(tmp, 'never')]);
      expect([r.code, r.stderr], args.join(' ')).toEqual([2, expect.stringMatching(message)]);
    }
  });
});
