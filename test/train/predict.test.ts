import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';

import { loadModel, saveCheckpoint } from '../../lib/checkpoint/format';
import type { Image } from '../../lib/data/image';
import { Pipeline } from '../../lib/data/transforms/pipeline';
import { Rng } from '../../lib/data/rng';
import { createAlexNet } from '../../lib/models/alexnet';
import { softmax } from '../../lib/ops/activation';
import { predict } from '../../lib/predict';
import { Tensor } from '../../lib/tensor';

const backend = 'cpu' as const;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'alexnet-predict-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function model() {
  const m = createAlexNet({ preset: 'd2l', width: 0.0625, inputSize: 68, numClasses: 6, init: 'kaiming', seed: 12, backend });
  m.classes = ['zero', 'one', 'two', 'three', 'four', 'five'];
  m.preprocessing = [{ kind: 'resize', size: [68, 68] }];
  return m;
}

describe('predict', () => {
  it('gives the same top-k for a file, encoded bytes, an Image and a preprocessed tensor', async () => {
    const m = model();
    const pixels = Buffer.from(Array.from({ length: 28 * 28 }, (_, i) => (i * 37) % 256));
    const png = await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toBuffer();
    const file = path.join(tmp, 'digit.png');
    writeFileSync(file, png);
    const image: Image = { data: Float32Array.from(pixels, (v) => v / 255), channels: 1, height: 28, width: 28 };
    const pre = new Pipeline(m.preprocessing!).apply(image, new Rng(0));
    const tensor = Tensor.fromArray(pre.data, [1, 68, 68], { backend });
    const results = await predict(m, [file, png, image, tensor], { topk: 3 });
    expect(results).toHaveLength(4);
    for (const r of results) {
      expect(r.topk).toHaveLength(3);
      expect(r.topk[0]).toEqual({ label: r.label, index: r.index, probability: r.probability });
      expect(r.topk[0].probability).toBeGreaterThanOrEqual(r.topk[1].probability);
      expect(r.topk[1].probability).toBeGreaterThanOrEqual(r.topk[2].probability);
      expect(r.label).toBe(m.classes![r.index]);
      for (const [i, s] of r.topk.entries()) expect(s.probability).toBeCloseTo(results[0].topk[i].probability, 6);
    }
    // The probabilities are the model's softmax on the preprocessed input.
    m.eval();
    const logits = m.forward(tensor.reshape([1, 1, 68, 68]));
    const probs = await softmax(logits).toArray();
    expect(results[3].probability).toBe(Math.max(...probs));
    expect(m.training).toBe(false); // it was in eval mode before: left as it was
    m.train();
    const all = (await predict(m, image, { topk: 10 }))[0];
    expect(all.topk).toHaveLength(6); // capped at the number of classes
    expect(all.topk.reduce((s, x) => s + x.probability, 0)).toBeCloseTo(1, 5);
    expect(m.training).toBe(true);
  });

  it('uses the class names and preprocessing stored with the model', async () => {
    const m = model();
    const file = path.join(tmp, 'model.safetensors');
    await saveCheckpoint(file, m);
    const loaded = await loadModel(file, { backend });
    const image: Image = { data: new Float32Array(28 * 28).fill(0.5), channels: 1, height: 28, width: 28 };
    const [a] = await predict(m, image);
    const [b] = await predict(loaded, image);
    expect(b).toEqual(a);
    expect(loaded.classes).toContain(b.label);
  });

  it('says what is wrong with an input', async () => {
    const m = model();
    await expect(predict(m, [{ data: new Float32Array(4), channels: 1, height: 2, width: 2 }], { preprocessing: [] })).rejects.toThrow(
      /inputs\[0\] is \[1, 2, 2\] after preprocessing, the model takes \[1, 68, 68\]/,
    );
    await expect(predict(m, [Tensor.zeros([68, 68], { backend })])).rejects.toThrow(
      /inputs\[0\] must be a \[C, H, W\] or \[N, C, H, W\] tensor/,
    );
    await expect(predict(m, [42] as unknown as Parameters<typeof predict>[1])).rejects.toThrow(/inputs\[0\] must be an image object/);
    await expect(predict(m, [], { topk: 0 })).rejects.toThrow(/topk must be a positive integer/);
    await expect(predict(m, path.join(tmp, 'missing.png'))).rejects.toThrow(
      /cannot read .*missing\.png: no such file or folder \(ENOENT\)/,
    );
  });
});
