/**
 * The fused softmax cross-entropy (mean loss and gradient) and top-k counting on the backend under
 * test (test/support/device.ts).
 *
 * - Against PyTorch: test/reference/fixtures/ops/loss (F.cross_entropy, with and without the
 *   gradient and through CrossEntropyLoss; torch.topk without ties and a stable descending sort
 *   with ties, where the lower class index ranks first); a label outside [0, classes) gives a NaN
 *   loss and no out-of-bounds read.
 * - Against the CPU build, in the GPU suite only, on fresh seeded inputs: ImageNet-sized batches
 *   (128 x 1000), the d2l head (256 x 10), logits large enough to overflow exp without the max
 *   subtraction, out-of-range labels, and top-k counts with and without ties.
 *
 * Tolerances: loss and gradient 1e-4 relative; counts exact (the counter is added to, not set).
 */
import { describe, expect, it } from 'vitest';

import { CrossEntropyLoss } from '../../lib/nn/index';
import { countTopkCorrect, softmaxCrossEntropy } from '../../lib/ops/index';
import { Tensor } from '../../lib/tensor';
import { FP32_RTOL, loadFixture } from '../helpers';
import { describeDeviceOnly, describeOnDevice, device } from '../support/device';
import { checkClose, checkTensor } from '../support/report';
import { disposeAll, disposePairs, fixtureTensor, labelPair, pairFrom, randomPair } from '../support/tensors';

const fixture = loadFixture('ops/loss');
const crossEntropyCases = fixture.cases.filter((c) => !c.name.startsWith('topk'));
const topkCases = fixture.cases.filter((c) => c.name.startsWith('topk')) as unknown as { name: string; counts: Record<string, number> }[];

/** The counter starts here: countTopkCorrect adds to it. */
const COUNTER_START = 5;

async function countOn(logits: Tensor, labels: Tensor, k: number): Promise<number> {
  const counter = Tensor.full([1], COUNTER_START, { backend: logits.backend });
  countTopkCorrect(logits, labels, k, counter);
  const value = (await counter.toArray())[0];
  counter.dispose();
  return value;
}

describeOnDevice('softmax cross-entropy and top-k', () => {
  describe('softmax cross-entropy against PyTorch (fixtures)', () => {
    for (const { name } of crossEntropyCases) {
      it(name, async () => {
        const dev = device();
        const logits = fixtureTensor(fixture.get(`${name}.logits`), dev);
        const labels = fixtureTensor(fixture.get(`${name}.labels`), dev);
        const { loss, gradLogits } = softmaxCrossEntropy(logits, labels);
        const lossOnly = softmaxCrossEntropy(logits, labels, { withGrad: false });
        const criterionLoss = new CrossEntropyLoss().value(logits, labels);
        await checkTensor('cross-entropy vs PyTorch', `${name} loss`, loss, fixture.get(`${name}.loss`), FP32_RTOL);
        await checkTensor('cross-entropy vs PyTorch', `${name} dlogits`, gradLogits!, fixture.get(`${name}.dlogits`), FP32_RTOL);
        // Without the gradient, only the loss comes back.
        expect(lossOnly.gradLogits, `${name}: withGrad false`).toBeNull();
        await checkTensor(
          'cross-entropy vs PyTorch',
          `${name} loss without gradient`,
          lossOnly.loss,
          fixture.get(`${name}.loss`),
          FP32_RTOL,
        );
        await checkTensor(
          'cross-entropy vs PyTorch',
          `${name} CrossEntropyLoss.value`,
          criterionLoss,
          fixture.get(`${name}.loss`),
          FP32_RTOL,
        );
        disposeAll(logits, labels, loss, gradLogits, lossOnly.loss, lossOnly.gradLogits, criterionLoss);
      });
    }

    it('gives a NaN loss (and no out-of-bounds read) for a label outside [0, classes)', async () => {
      const dev = device();
      const logits = Tensor.zeros([2, 3], { backend: dev });
      for (const bad of [3, -1]) {
        const labels = Tensor.fromArray(new Int32Array([0, bad]), [2], { backend: dev, dtype: 'int32' });
        const { loss, gradLogits } = softmaxCrossEntropy(logits, labels);
        expect(Number.isNaN((await loss.toArray())[0])).toBe(true);
        disposeAll(labels, loss, gradLogits);
      }
      logits.dispose();
    });
  });

  describe('countTopkCorrect against torch.topk (fixtures)', () => {
    for (const c of topkCases) {
      for (const [k, expected] of Object.entries(c.counts)) {
        it(`${c.name}, k = ${k}: ${expected} of 64, added to the counter`, async () => {
          const dev = device();
          const logits = fixtureTensor(fixture.get(`${c.name}.logits`), dev);
          const labels = fixtureTensor(fixture.get(`${c.name}.labels`), dev);
          const got = await countOn(logits, labels, Number(k));
          checkClose('top-k vs PyTorch', `${c.name} k=${k} count`, [got], [COUNTER_START + expected], 0);
          disposeAll(logits, labels);
        });
      }
    }
  });

  describeDeviceOnly('against the CPU build (fresh random inputs)', () => {
    for (const [rows, classes, std] of [
      [128, 1000, 3],
      [256, 10, 2],
      [3, 6, 100],
      [1, 1000, 1],
    ] as const) {
      it(`cross-entropy over ${rows} x ${classes} (logits with standard deviation ${std})`, async () => {
        const dev = device();
        const logits = await randomPair([rows, classes], 8000 + rows, dev, { std });
        const labels = await labelPair(rows, classes, 8100 + rows, dev);
        const reference = softmaxCrossEntropy(logits.cpu, labels.cpu);
        const { loss, gradLogits } = softmaxCrossEntropy(logits.dev, labels.dev);
        const name = `${rows}x${classes}, std ${std}`;
        await checkTensor('cross-entropy vs CPU', `${name}: loss`, loss, reference.loss, FP32_RTOL);
        await checkTensor('cross-entropy vs CPU', `${name}: dlogits`, gradLogits!, reference.gradLogits!, FP32_RTOL);
        disposePairs(logits, labels);
        disposeAll(reference.loss, reference.gradLogits, loss, gradLogits);
      });
    }

    it('a label outside [0, classes) gives a NaN loss, as on the CPU', async () => {
      const dev = device();
      const logits = await randomPair([2, 3], 8200, dev);
      for (const bad of [3, -1]) {
        const labels = pairFrom(Int32Array.from([0, bad]), [2], dev);
        const reference = softmaxCrossEntropy(logits.cpu, labels.cpu);
        const { loss, gradLogits } = softmaxCrossEntropy(logits.dev, labels.dev);
        // NaN must meet NaN (compareArrays matches non-finite values exactly).
        await checkTensor('cross-entropy vs CPU', `label ${bad}: NaN loss`, loss, reference.loss, 0);
        disposePairs(labels);
        disposeAll(reference.loss, reference.gradLogits, loss, gradLogits);
      }
      disposePairs(logits);
    });

    for (const [rows, classes, ties] of [
      [256, 1000, false],
      [512, 10, false],
      [256, 6, true],
    ] as const) {
      it(`top-k counts over ${rows} x ${classes}${ties ? ' with ties' : ''}`, async () => {
        const dev = device();
        const drawn = await randomPair([rows, classes], 8300 + classes, dev);
        disposePairs(drawn);
        // Integer logits in a narrow range tie often; the lower class index must rank first on both.
        const values = ties ? drawn.values.map((v) => Math.round(v)) : drawn.values;
        const logits = pairFrom(values, [rows, classes], dev);
        const labels = await labelPair(rows, classes, 8400 + classes, dev);
        for (const k of [1, 2, 5].filter((k) => k <= classes)) {
          const expected = await countOn(logits.cpu, labels.cpu, k);
          const got = await countOn(logits.dev, labels.dev, k);
          checkClose('top-k vs CPU', `${rows}x${classes}${ties ? ' ties' : ''} k=${k} count`, [got], [expected], 0);
        }
        disposePairs(logits, labels);
      });
    }
  });
});
