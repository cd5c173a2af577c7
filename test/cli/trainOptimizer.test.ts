/**
 * `alexnet train --optimizer sgd|adam|adamw` and its flags: the settings they give (in process),
 * a short AdamW run whose checkpoint records the optimizer and its moments, and a resume that
 * refuses another optimizer.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CheckpointDirectory } from '../../lib/checkpoint/directory';
import { UsageError } from '../../lib/cli/args';
import { DEFAULT_SETTINGS, optimizerChoice, settingsFromFlags } from '../../lib/cli/train';
import { decodeSafetensors } from '../../lib/io/safetensors';
import { writeSyntheticMnist } from '../train/synthetic';
import { cliMain, ensureDist } from './dist';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'alexnet-cli-optim-'));
const synthetic = path.join(tmp, 'synthetic-mnist');
beforeAll(() => {
  ensureDist();
  writeSyntheticMnist(synthetic, 64, 32);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cliMain, ...args], {
    cwd: tmp,
    env: { ...process.env, ALEXNET_QUIET: '1' },
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('alexnet train --optimizer', () => {
  it('gives the settings and the optimizer choice fit takes', () => {
    expect(optimizerChoice(settingsFromFlags({}, DEFAULT_SETTINGS))).toEqual({
      type: 'sgd',
      lr: 0.01,
      momentum: 0,
      weightDecay: 0,
      nesterov: false,
    });
    const adamw = settingsFromFlags({ optimizer: 'adamw', lr: '3e-4' }, DEFAULT_SETTINGS);
    expect(optimizerChoice(adamw)).toEqual({ type: 'adamw', lr: 3e-4, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 });
    const adam = settingsFromFlags({ optimizer: 'adam', betas: '0.8, 0.99', eps: '1e-6', 'weight-decay': '5e-4' }, DEFAULT_SETTINGS);
    expect(optimizerChoice(adam)).toEqual({ type: 'adam', lr: 0.01, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 5e-4 });
    // A resumed AdamW run keeps its stored weight decay.
    expect(settingsFromFlags({}, { ...adamw, weightDecay: 0.2 }).weightDecay).toBe(0.2);
  });

  it('rejects flags of another optimizer and bad values, naming the flag', () => {
    const bad: [Record<string, string | boolean>, RegExp][] = [
      [{ optimizer: 'rmsprop' }, /--optimizer must be one of sgd, adam, adamw, got "rmsprop"/],
      [{ optimizer: 'adam', momentum: '0.9' }, /--momentum is for sgd, not adam/],
      [{ optimizer: 'adamw', nesterov: true }, /--nesterov is for sgd, not adamw/],
      [{ betas: '0.9,0.999' }, /--betas is for adam and adamw, not sgd/],
      [{ optimizer: 'adam', betas: '0.9' }, /--betas must be two numbers in \[0, 1\)/],
      [{ optimizer: 'adam', betas: '0.9,1' }, /--betas must be two numbers in \[0, 1\)/],
      [{ optimizer: 'adam', eps: '0' }, /--eps must be/],
      [{ optimizer: 'adam', 'weight-decay': '-1' }, /--weight-decay must be/],
    ];
    for (const [values, message] of bad) {
      expect(() => settingsFromFlags(values, DEFAULT_SETTINGS), JSON.stringify(values)).toThrow(UsageError);
      expect(() => settingsFromFlags(values, DEFAULT_SETTINGS), JSON.stringify(values)).toThrow(message);
    }
  });

  it('trains with AdamW, records it in the checkpoint with its moments, and refuses to resume with SGD', async () => {
    const dir = path.join(tmp, 'adamw');
    const common = [
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
      '--backend',
      'cpu',
      '--progress',
      'epochs',
    ];
    const run = cli([
      'train',
      ...common,
      '--optimizer',
      'adamw',
      '--lr',
      '1e-3',
      '--epochs',
      '2',
      '--checkpoint-dir',
      dir,
      '--stop-after-steps',
      '3',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/AdamW lr 0\.001 betas 0\.9,0\.999 eps 1e-8 weight decay 0\.01, batch 16/);
    const latest = (await new CheckpointDirectory(dir).latest())!.file;
    const file = decodeSafetensors(readFileSync(latest), latest);
    const state = JSON.parse(file.metadata['alexnet-cuda.optimizer']) as {
      type: string;
      steps: number;
      groups: { options: Record<string, unknown> }[];
    };
    expect([state.type, state.steps, state.groups[0].options]).toEqual(['adamw', 3, { betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 }]);
    expect(file.tensors.has('optimizer.exp_avg.features.0.weight')).toBe(true);
    expect(file.tensors.has('optimizer.exp_avg_sq.classifier.6.bias')).toBe(true);
    const wrong = cli(['train', '--resume', dir, '--optimizer', 'sgd', '--backend', 'cpu', '--progress', 'epochs']);
    expect([wrong.code, wrong.stderr]).toEqual([2, expect.stringMatching(/--optimizer sgd conflicts with the checkpoint's adamw/)]);
    const resumed = cli(['train', '--resume', dir, '--backend', 'cpu', '--progress', 'epochs']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/AdamW lr 0\.001/);
  });
});
