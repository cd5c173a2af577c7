/**
 * The README's fine-tuning walk-through runs as written: its commands are taken from the README
 * (the console block after the "fine-tuning walk-through" marker) and run, in order, in a scratch
 * folder holding what they name: `alexnet-owt-7be5be79.pth` (torchvision's layout at full size, 1000
 * classes, written by PyTorch: test/cli/make_imagenet_pth.py, since the real file cannot be
 * downloaded here) and a small generated image folder `flowers/` (3 classes, 6 training and 2
 * validation images each), then its Node example likewise. Full size on the CPU: about two minutes.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadModel } from '../../lib/checkpoint/format';
import { firstDifference } from '../checkpoint/bits';
import { ciRequiresEverything } from '../helpers';
import { pythonEnv, torchAvailable } from '../python';
import { cliMain, ensureDist, repoRoot } from './dist';

const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');

/** The walk-through's Node example (the ```ts block after the commands). */
function nodeExample(): string {
  const marker = readme.indexOf('<!-- fine-tuning walk-through');
  return /```ts\n([\s\S]*?)```/.exec(readme.slice(marker))![1];
}

/** The walk-through's commands, continuation lines joined, each split into words. */
function walkthrough(): string[][] {
  const marker = readme.indexOf('<!-- fine-tuning walk-through');
  if (marker < 0) throw new Error('README.md has no fine-tuning walk-through marker');
  const block = /```console\n([\s\S]*?)```/.exec(readme.slice(marker))![1];
  const commands: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('$ ')) commands.push(line.slice(2));
    else if (commands.length > 0 && line.trim()) commands[commands.length - 1] += ` ${line.trim()}`;
  }
  return commands.map((c) =>
    c
      .replace(/\\ /g, ' ')
      .split(/\s+/)
      .filter((w) => w.length > 0),
  );
}

const CLASSES: Record<string, [number, number, number]> = { daisy: [240, 220, 40], rose: [200, 20, 40], tulip: [150, 40, 200] };

async function writeFolder(root: string): Promise<void> {
  let seed = 1;
  for (const [split, count] of [
    ['train', 6],
    ['val', 2],
  ] as const) {
    for (const [name, [r, g, b]] of Object.entries(CLASSES)) {
      const dir = path.join(root, split, name);
      mkdirSync(dir, { recursive: true });
      for (let i = 1; i <= count; i++) {
        const pixels = Buffer.alloc(64 * 48 * 3);
        for (let p = 0; p < 64 * 48; p++) {
          seed = (seed * 1103515245 + 12345) % 2 ** 31;
          const noise = (seed % 61) - 30;
          pixels[3 * p] = Math.max(0, Math.min(255, r + noise));
          pixels[3 * p + 1] = Math.max(0, Math.min(255, g + noise));
          pixels[3 * p + 2] = Math.max(0, Math.min(255, b + noise));
        }
        await sharp(pixels, { raw: { width: 64, height: 48, channels: 3 } })
          .jpeg()
          .toFile(path.join(dir, `${i}.jpg`));
      }
    }
  }
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'alexnet-walkthrough-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeAll(() => ensureDist());

describe('README fine-tuning walk-through', () => {
  it('lists import, train --from and predict', () => {
    expect(walkthrough().map((c) => c.slice(0, 2).join(' '))).toEqual(['alexnet import', 'alexnet train', 'alexnet predict']);
  });

  it('runs as written: ImageNet-layout weights -> fine-tuned on an image folder -> predictions', { timeout: 900_000 }, async (ctx) => {
    const torch = torchAvailable();
    if (!torch.ok) {
      if (ciRequiresEverything) throw new Error(torch.reason);
      ctx.skip(torch.reason);
    }
    const made = spawnSync('python3', [path.join(__dirname, 'make_imagenet_pth.py'), tmp], { env: pythonEnv(), encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    await writeFolder(path.join(tmp, 'flowers'));
    const outputs: string[] = [];
    for (const [command, ...args] of walkthrough()) {
      expect(command).toBe('alexnet');
      const r = spawnSync(process.execPath, [cliMain, ...args], {
        cwd: tmp,
        encoding: 'utf8',
        env: { ...process.env, ALEXNET_BACKEND: 'cpu', ALEXNET_QUIET: '1' },
        timeout: 600_000,
      });
      const output = `${r.stdout}${r.stderr}`;
      expect(r.status, `alexnet ${args.join(' ')}\n${output}`).toBe(0);
      outputs.push(output);
    }
    const [imported, trained, predicted] = outputs;
    expect(imported).toContain('alexnet-imagenet.safetensors: torchvision AlexNet, 1000 classes, 61,100,840 parameters');
    expect(trained).toContain('replaced the 1000-class output layer with a new 3-class one');
    expect(trained).toMatch(/57\.02 M parameters, 54\.55 M trainable \(frozen: features\)/);
    expect(trained).toContain('model saved to');
    // One line per image: the top classes are the folder's.
    expect(predicted).toMatch(/daisy|rose|tulip/);
    expect(predicted).not.toMatch(/tench|goldfish/);

    // The fine-tuned model: 3 classes named as the folders, the features exactly the imported ones.
    const imagenet = await loadModel(path.join(tmp, 'alexnet-imagenet.safetensors'), { backend: 'cpu' });
    const tuned = await loadModel(path.join(tmp, 'flowers-run', 'model.safetensors'), { backend: 'cpu' });
    try {
      expect(tuned.config.numClasses).toBe(3);
      expect(tuned.classes).toEqual(['daisy', 'rose', 'tulip']);
      const before = new Map(imagenet.namedParameters());
      for (const [name, p] of tuned.namedParameters()) {
        const original = before.get(name)!;
        if (name.startsWith('classifier.6.')) continue; // the new head
        const at = firstDifference((await p.value.toArray()) as Float32Array, (await original.value.toArray()) as Float32Array);
        // Frozen features keep the imported values; the trainable classifier layers moved.
        if (name.startsWith('features.')) expect(at, `${name}: frozen, differs at ${at}`).toBe(-1);
        else expect(at, `${name}: trained`).toBeGreaterThanOrEqual(0);
      }
    } finally {
      imagenet.dispose();
      tuned.dispose();
    }

    // The Node version, as written, against the same files (the package linked into node_modules).
    mkdirSync(path.join(tmp, 'node_modules'), { recursive: true });
    symlinkSync(repoRoot, path.join(tmp, 'node_modules', 'alexnet-cuda'));
    writeFileSync(path.join(tmp, 'example.mjs'), nodeExample());
    const node = spawnSync(process.execPath, ['example.mjs'], {
      cwd: tmp,
      encoding: 'utf8',
      env: { ...process.env, ALEXNET_BACKEND: 'cpu', ALEXNET_QUIET: '1' },
      timeout: 600_000,
    });
    const printed = `${node.stdout}${node.stderr}`;
    expect(node.status, printed).toBe(0);
    expect(printed).toMatch(/classifier\.6 \(Linear\)\s+\[16, 3\]\s+12,291\s+yes/);
    expect(printed).toContain('Frozen params: 2,469,696');
    expect(printed).toMatch(/ran every epoch|did not improve/);
  });
});
