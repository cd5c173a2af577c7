/**
 * Importing files that PyTorch itself writes (test/interop/make_pth.py, run live): a full-size
 * torchvision-layout state_dict (the layout of torchvision's alexnet-owt-7be5be79.pth), the legacy
 * format, a DataParallel training checkpoint, strided and offset views of one storage, float16,
 * bfloat16 and float64 tensors, Parameters, and a pickled nn.Module (refused). Each import must
 * give PyTorch's logits (eval mode) within 1e-4 relative; the CLI's import and ONNX export chain
 * must too, through onnxruntime.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';

import { CheckpointError, loadModel } from '../../lib/checkpoint/format';
import { importTorchCheckpoint } from '../../lib/interop/torchImport';
import type { SafetensorsArray } from '../../lib/io/safetensors';
import { Tensor } from '../../lib/tensor';
import { runTorch, torchAvailable } from '../python';
import { cliMain, ensureDist } from '../cli/dist';
import { ciRequiresEverything, compareArrays } from '../helpers';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'alexnet-torch-import-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let made: Map<string, { shape: number[]; data: SafetensorsArray }> | undefined;

/** Runs make_pth.py once (skipping the test without torch, failing under ALEXNET_CI=1); returns its outputs. */
function pytorchFiles(ctx: TestContext): Map<string, { shape: number[]; data: SafetensorsArray }> {
  const torch = torchAvailable();
  if (!torch.ok) {
    if (ciRequiresEverything) throw new Error(torch.reason);
    ctx.skip(torch.reason);
  }
  made ??= runTorch(readFileSync(path.join(__dirname, 'make_pth.py'), 'utf8'), {}, { PTH_DIR: tmp }).outputs;
  return made;
}

/** Our logits for the script's input batch, in eval mode. */
async function logitsOf(
  model: Awaited<ReturnType<typeof importTorchCheckpoint>>,
  input: { shape: number[]; data: SafetensorsArray },
): Promise<Float32Array> {
  model.eval();
  const x = Tensor.fromArray(input.data as Float32Array, input.shape, { backend: 'cpu' });
  try {
    const y = model.forward(x);
    try {
      return await y.toArray();
    } finally {
      y.dispose();
    }
  } finally {
    x.dispose();
  }
}

describe('importTorchCheckpoint on files torch.save wrote', () => {
  it("a full-size torchvision-layout state_dict (1000 classes) gives PyTorch's logits", async (ctx) => {
    const outputs = pytorchFiles(ctx);
    const notes: string[] = [];
    const model = await importTorchCheckpoint(path.join(tmp, 'full.pth'), { backend: 'cpu', onNote: (n) => notes.push(n) });
    try {
      expect(model.config).toMatchObject({ preset: 'torchvision', numClasses: 1000, inChannels: 3, inputSize: 224, width: 1 });
      expect(notes).toEqual([]);
      compareArrays(
        'full.pth logits',
        await logitsOf(model, outputs.get('input')!),
        outputs.get('full_logits')!.data as Float32Array,
        1e-4,
      );
    } finally {
      model.dispose();
    }
  });

  const variants: [file: string, logits: string, notes: RegExp[]][] = [
    ['legacy.pth', 'small_logits', []],
    ['wrapped.pth', 'small_logits', [/used the "state_dict" entry/, /stripped the prefix "module\."/]],
    ['strided.pth', 'small_logits', []],
    ['mixed.pth', 'mixed_logits', [/converted 5 float16 tensors/, /converted 8 float64 tensors/, /converted 3 bfloat16 tensors/]],
    ['params.pth', 'small_logits', []],
  ];
  for (const [file, logits, expectedNotes] of variants) {
    it(`${file} gives PyTorch's logits`, async (ctx) => {
      const outputs = pytorchFiles(ctx);
      const notes: string[] = [];
      const model = await importTorchCheckpoint(path.join(tmp, file), { width: 0.25, backend: 'cpu', onNote: (n) => notes.push(n) });
      try {
        expect(model.config.numClasses).toBe(10);
        expect(notes).toHaveLength(expectedNotes.length);
        for (const note of expectedNotes)
          expect(
            notes.some((n) => note.test(n)),
            `${note} in ${JSON.stringify(notes)}`,
          ).toBe(true);
        const expected = outputs.get(logits)!.data as Float32Array;
        expect(Math.max(...expected.map(Math.abs))).toBeGreaterThan(1); // far from zero: the weights matter
        compareArrays(`${file} logits`, await logitsOf(model, outputs.get('input')!), expected, 1e-4);
      } finally {
        model.dispose();
      }
    });
  }

  it('refuses a whole pickled nn.Module, naming the global, and a mismatched preset, naming the shapes', async (ctx) => {
    pytorchFiles(ctx);
    const module = path.join(tmp, 'module.pth');
    await expect(importTorchCheckpoint(module, { width: 0.25, backend: 'cpu' })).rejects.toThrow(CheckpointError);
    await expect(importTorchCheckpoint(module, { width: 0.25, backend: 'cpu' })).rejects.toThrow(
      new RegExp(
        `^${module.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot be imported: uses the global __main__\\.AlexNet, which is not allowed`,
      ),
    );
    await expect(importTorchCheckpoint(path.join(tmp, 'legacy.pth'), { width: 0.5, backend: 'cpu' })).rejects.toThrow(
      /does not fit the torchvision preset \(10 classes, width 0\.5\): "features\.0\.weight" has shape \[16, 3, 11, 11\], the torchvision preset's is \[32, 3, 11, 11\]/,
    );
    await expect(importTorchCheckpoint(path.join(tmp, 'legacy.pth'), { preset: 'paper', width: 0.25, backend: 'cpu' })).rejects.toThrow(
      /does not fit the paper preset/,
    );
  });

  it("alexnet import, then alexnet export --onnx: onnxruntime gives PyTorch's logits", async (ctx) => {
    const outputs = pytorchFiles(ctx);
    ensureDist();
    const cli = (args: string[]) =>
      spawnSync(process.execPath, [cliMain, ...args], {
        cwd: tmp,
        encoding: 'utf8',
        env: { ...process.env, ALEXNET_DEBUG: '' },
        timeout: 300_000,
      });
    const classes = Array.from({ length: 10 }, (_, i) => `class ${i}`);
    writeFileSync(path.join(tmp, 'classes.txt'), `${classes.join('\n')}\n`);
    const imported = cli([
      'import',
      'wrapped.pth',
      '--width',
      '0.25',
      '--preprocessing',
      'imagenet',
      '--classes',
      'classes.txt',
      '-o',
      'wrapped.safetensors',
    ]);
    expect(imported.stderr).toBe(
      'alexnet import: used the "state_dict" entry of the checkpoint dict\nalexnet import: stripped the prefix "module." from every name\n',
    );
    expect([imported.status, imported.stdout]).toEqual([
      0,
      'wrapped.safetensors: torchvision AlexNet, 10 classes, 3,579,098 parameters (from wrapped.pth)\n',
    ]);
    const model = await loadModel(path.join(tmp, 'wrapped.safetensors'), { backend: 'cpu' });
    try {
      expect(model.classes).toEqual(classes);
      expect(model.preprocessing).toEqual([
        { kind: 'resize', size: 256 },
        { kind: 'centerCrop', size: 224 },
        { kind: 'normalize', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
      ]);
    } finally {
      model.dispose();
    }
    const exported = cli(['export', '--onnx', 'wrapped.safetensors']);
    expect([exported.status, exported.stderr]).toEqual([0, '']);
    expect(exported.stdout).toMatch(/^wrapped\.onnx: ONNX opset 17, torchvision AlexNet, input \[N, 3, 224, 224\], logits \[N, 10\]/);
    const input = outputs.get('input')!;
    const session = await ort.InferenceSession.create(path.join(tmp, 'wrapped.onnx'));
    try {
      const result = await session.run({ input: new ort.Tensor('float32', input.data as Float32Array, input.shape) });
      compareArrays(
        'PyTorch -> alexnet import -> alexnet export -> onnxruntime logits',
        result.logits.data as Float32Array,
        outputs.get('small_logits')!.data as Float32Array,
        1e-4,
      );
    } finally {
      await session.release();
    }
    const usage = cli(['import', 'wrapped.pth', '--width', '0.25', '--classes', 'classes.txt', '--num-classes', '10', '-o', 'wrapped.pth']);
    expect([usage.status, usage.stderr]).toEqual([
      2,
      'alexnet import: --output wrapped.pth is the file being imported; choose another name\n',
    ]);
    writeFileSync(path.join(tmp, 'three.txt'), 'a\nb\nc\n');
    const wrongClasses = cli(['import', 'wrapped.pth', '--width', '0.25', '--classes', 'three.txt', '-o', 'x.safetensors']);
    expect(wrongClasses.stderr).toMatch(/--classes three\.txt names 3 classes, the model has 10 outputs/);
    const refused = cli(['import', 'module.pth', '--width', '0.25']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/^alexnet import: module\.pth: cannot be imported: uses the global __main__\.AlexNet/);
  });
});
