import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { saveCheckpoint } from '../../lib/checkpoint/format';
import { createAlexNet } from '../../lib/models/alexnet';
import { SGD } from '../../lib/optim/sgd';
import { Tensor } from '../../lib/tensor';
import { ciRequiresEverything, compareArrays, FP32_RTOL } from '../helpers';
import { runTorch, torchAvailable } from '../python';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'alexnet-torch-ckpt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('PyTorch interoperability', () => {
  it('torchvision AlexNet loads a torchvision-preset checkpoint with strict=True and gives the same logits', async (ctx) => {
    const torch = torchAvailable();
    if (!torch.ok) {
      if (ciRequiresEverything) throw new Error(torch.reason);
      ctx.skip(torch.reason);
    }
    // Full size (strict loading needs torchvision's exact shapes), 10 classes to keep the file smaller.
    const model = createAlexNet({ preset: 'torchvision', numClasses: 10, seed: 42, backend: 'cpu' });
    try {
      const weights = path.join(tmp, 'weights.safetensors');
      await saveCheckpoint(weights, model, { classes: Array.from({ length: 10 }, (_, i) => `class ${i}`) });
      // A training checkpoint too: the same weights plus momentum buffers and state.
      const optimizer = new SGD(
        model.namedParameters().map(([, p]) => p),
        { lr: 0.01, momentum: 0.9 },
      );
      const training = path.join(tmp, 'training.safetensors');
      await saveCheckpoint(training, model, { optimizer, training: { epoch: 0 } });
      optimizer.dispose();

      const input = Tensor.uniform([2, 3, 224, 224], { low: -2, high: 2, seed: 7 }, { backend: 'cpu' });
      model.eval();
      const ours = await model.forward(input).toArray();
      const images = await input.toArray();
      const { outputs } = runTorch(
        readFileSync(path.join(__dirname, 'load_in_torch.py'), 'utf8'),
        { input: { shape: [2, 3, 224, 224], data: images } },
        {
          WEIGHTS: weights,
          TRAINING: training,
        },
      );
      for (const name of ['weights_logits', 'training_logits']) {
        const theirs = outputs.get(name)!;
        expect(theirs.shape).toEqual([2, 10]);
        // Relative to each logit (or to the logits' RMS near zero): both sides compute in fp32.
        const { maxError } = compareArrays(name, ours, theirs.data as Float32Array, FP32_RTOL);
        console.log(`${name}: max relative error against PyTorch ${maxError.toExponential(2)}`);
        expect(ours.some((v) => Math.abs(v) > 1e-3)).toBe(true); // not trivially zero
      }
      input.dispose();
    } finally {
      model.dispose();
    }
  });
});
