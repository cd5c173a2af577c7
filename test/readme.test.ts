/**
 * The README's Node examples run as written: each ```js block is saved into a scratch project whose
 * node_modules/alexnet-cuda links to this package (built into dist/ by `npm test`), and run with node.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { fashionMnistSearchPaths, hasMnistStyleFiles } from '../lib/data/fashionMnist';
import { ciRequiresEverything } from './helpers';

const root = path.resolve(__dirname, '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const examples = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
const haveFashionMnist = fashionMnistSearchPaths().some((dir) => hasMnistStyleFiles(dir));

function run(source: string, esm: boolean): { status: number | null; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alexnet-readme-'));
  try {
    fs.mkdirSync(path.join(dir, 'node_modules'));
    fs.symlinkSync(root, path.join(dir, 'node_modules', 'alexnet-cuda'));
    const file = path.join(dir, esm ? 'example.mjs' : 'example.js');
    fs.writeFileSync(file, source);
    const result = spawnSync(process.execPath, [file], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, ALEXNET_BACKEND: 'cpu', ALEXNET_QUIET: '1' },
      timeout: 600_000,
    });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('README examples', () => {
  it('has the Node examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(3);
  });

  it('optimizers: AdamW with two parameter groups and a frozen layer takes three steps', () => {
    const example = examples.find((e) => e.includes('new AdamW('));
    expect(example, 'the optimizers example').toBeDefined();
    const { status, output } = run(example!, false);
    expect(status, output).toBe(0);
    expect(output).toMatch(/step 0: loss \d+\.\d{4}\nstep 1: loss \d+\.\d{4}\nstep 2: loss \d+\.\d{4}/);
    expect(output).toContain('groups 0.00005, 0.0005');
  });

  it('inference with a fresh model prints 20 logits', () => {
    const { status, output } = run(examples[0], false);
    expect(output).toContain('20 logits');
    expect(status, output).toBe(0);
  });

  it.skipIf(!haveFashionMnist && !ciRequiresEverything)(
    'train and predict on Fashion-MNIST (needs the dataset: apt-get install dataset-fashion-mnist)',
    { timeout: 900_000 },
    () => {
      const { status, output } = run(examples[1], true);
      expect(status, output).toBe(0);
      const accuracy = Number(/test accuracy ([\d.]+)/.exec(output)?.[1]);
      // The README states the figure this run prints: it must stay true.
      const stated = Number(/prints a test accuracy of ([\d.]+)/.exec(readme)?.[1]);
      expect(stated, 'the README states the accuracy the example reaches').toBeGreaterThan(0.6);
      expect(Math.abs(accuracy - stated), output).toBeLessThanOrEqual(0.02);
      expect(output).toMatch(/true: .+, predicted: .+ \(\d+\.\d%\)/);
    },
  );
});
