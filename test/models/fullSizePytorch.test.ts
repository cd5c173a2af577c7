/**
 * Every preset at full size against PyTorch run live (test/reference/full_size.py; full-size
 * parameters are too large to commit as fixtures): a batch of two in training mode with dropout
 * active, the logits, the loss and every parameter's gradient within 1e-4 relative of PyTorch's
 * float64 answer from the same parameters. Float64, because the reference is then the exact answer
 * and the tolerance measures our fp32 arithmetic.
 *
 * seed-tf is compared with an op-for-op translation of the seed tutorial's TensorFlow code
 * (test/reference/seed_tf.py: NHWC, tf.split groups, TensorFlow's LRN and SAME padding, HWC
 * flatten), so this test also proves that the preset is the seed's network.
 *
 * One case cannot meet 1e-4 in fp32 at all: the paper preset with the paper's initialization.
 * Its weights are N(0, 0.01) and conv2/4/5 have biases of 1, so the pooled activations are 1 plus
 * tiny terms and many max-pool windows hold values that differ by less than fp32's resolution at 1
 * (6e-8): fp32 picks a different maximum than exact arithmetic, and the convolutions' gradients
 * flow through other pixels. Which windows flip depends on the order of each sum, so no fp32
 * implementation agrees with float64 or with another: PyTorch's own fp32, measured against its
 * float64 in the same run, is up to 1e-1 off element-wise on conv1's weight gradient. For the
 * tensors where PyTorch's fp32 misses 1e-4, ours are held to 10x PyTorch's fp32 error measured over
 * the whole tensor (|a - e|₂ / |e|₂; observed 1.4x to 4x: a wrong gradient would be off by 1e-1 or
 * more). The exactness check of this network is the next case: the same paper preset with Kaiming
 * initialization (no ties) meets 1e-4 everywhere.
 */
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { createAlexNet, PRESETS, type PresetName } from '../../lib/models/alexnet';
import type { InitScheme } from '../../lib/models/init';
import { CrossEntropyLoss } from '../../lib/nn/index';
import { Tensor } from '../../lib/tensor';
import { ciRequiresEverything, compareArrays, FP32_RTOL, normwiseError } from '../helpers';
import { runTorchFile, torchAvailable } from '../python';

const SCRIPT = join(__dirname, '..', 'reference', 'full_size.py');
const BATCH = 2;
const SEED = 20121203;
/** How much farther than PyTorch's own fp32 we may be from float64 (normwise) where fp32 cannot reach 1e-4. */
const FP32_LIMIT_FACTOR = 10;

const CASES: { preset: PresetName; init?: InitScheme }[] = [...PRESETS.map((preset) => ({ preset })), { preset: 'paper', init: 'kaiming' }];

describe('every preset at full size matches PyTorch (float64): logits, loss and every gradient', () => {
  for (const { preset, init } of CASES) {
    const withFp32Limit = preset === 'paper' && init === undefined;
    it(`${preset}, ${init ?? 'default'} init: batch ${BATCH}, training mode`, { timeout: 240_000 }, async (ctx) => {
      const torch = torchAvailable();
      if (!torch.ok) {
        if (ciRequiresEverything) throw new Error(torch.reason);
        ctx.skip(torch.reason);
      }
      const model = createAlexNet({ preset, seed: SEED, backend: 'cpu', ...(init ? { init } : {}) });
      const { inChannels, inputSize, numClasses } = model.config;
      const x = Tensor.normal([BATCH, inChannels, inputSize, inputSize], { seed: SEED + 1 }, { backend: 'cpu' });
      const labels = Tensor.fromArray([3 % numClasses, 7 % numClasses], [BATCH], { backend: 'cpu', dtype: 'int32' });
      const tensors: Tensor[] = [];
      try {
        const inputs: Parameters<typeof runTorchFile>[1] = {
          x: { shape: x.shape, data: await x.toArray() },
          labels: { shape: labels.shape, data: await labels.toArray() },
        };
        for (const [name, p] of model.namedParameters()) {
          inputs[`param.${name}`] = { shape: p.value.shape, data: await p.value.toArray() };
        }
        const config = { preset, seed: String(SEED), numClasses, inChannels, inputSize, alsoFloat32: withFp32Limit };
        const { outputs } = runTorchFile(SCRIPT, inputs, { config: JSON.stringify(config) });
        const reference = (name: string): { shape: number[]; data: Float32Array } => {
          const t = outputs.get(name);
          if (!(t?.data instanceof Float32Array)) throw new Error(`full_size.py wrote no float32 ${name}`);
          return { shape: t.shape, data: t.data };
        };

        const logits = model.forward(x);
        const { loss, gradLogits } = new CrossEntropyLoss().compute(logits, labels);
        tensors.push(logits, loss, gradLogits);
        model.backward(gradLogits);

        const check = async (name: string, actual: Tensor) => {
          const expected = reference(name);
          expect([...actual.shape], `${name}: shape`).toEqual([...expected.shape]);
          const values = await actual.toArray();
          if (withFp32Limit) {
            const torchFp32 = reference(`fp32.${name}`).data;
            if (compareArrays(`PyTorch fp32 ${preset} ${name}`, torchFp32, expected.data, Infinity).maxError > FP32_RTOL) {
              const theirs = normwiseError(torchFp32, expected.data);
              const ours = normwiseError(values, expected.data);
              console.log(
                `${preset} ${name}: fp32 cannot reach 1e-4 here; normwise error from float64: PyTorch fp32 ${theirs.toExponential(2)}, ours ${ours.toExponential(2)}`,
              );
              expect(ours, `${name}: normwise error against float64, at most ${FP32_LIMIT_FACTOR}x PyTorch fp32's`).toBeLessThanOrEqual(
                FP32_LIMIT_FACTOR * theirs,
              );
              return;
            }
          }
          compareArrays(`${preset} ${name}`, values, expected.data, FP32_RTOL);
        };
        await check('logits', logits);
        await check('loss', loss);
        const named = model.namedParameters();
        expect(named.length).toBe(16); // eight weighted layers, a weight and a bias each
        for (const [name, p] of named) await check(`grad.${name}`, p.grad!);
        // The comparison means something: the logits and the first layer's gradient carry signal.
        const values = await logits.toArray();
        expect(values.some((v) => v !== 0)).toBe(true);
        const firstGrad = (await named[0][1].grad!.toArray()) as Float32Array;
        expect(firstGrad.some((v) => v !== 0)).toBe(true);
      } finally {
        for (const t of [x, labels, ...tensors]) t.dispose();
        model.dispose();
      }
    });
  }
});
