/**
 * Softmax cross-entropy (mean loss and gradient) against PyTorch's F.cross_entropy, and top-k
 * correct counting against torch.topk (no ties) and a stable descending sort (ties: the lower
 * class index ranks first).
 */
import { describe, expect, it } from 'vitest';

import { CrossEntropyLoss } from '../../lib/nn/index';
import { countTopkCorrect, softmaxCrossEntropy } from '../../lib/ops/index';
import { Tensor } from '../../lib/tensor';
import { cpuTensor, expectTensorClose, loadFixture } from '../helpers';

const fixture = loadFixture('ops/loss');
const crossEntropyCases = fixture.cases.filter((c) => !c.name.startsWith('topk'));
const topkCases = fixture.cases.filter((c) => c.name.startsWith('topk')) as { name: string; counts: Record<string, number> }[];

describe('softmax cross-entropy matches PyTorch', () => {
  for (const { name } of crossEntropyCases) {
    it(name, async () => {
      const logits = cpuTensor(fixture.get(`${name}.logits`));
      const labels = cpuTensor(fixture.get(`${name}.labels`));
      const { loss, gradLogits } = softmaxCrossEntropy(logits, labels);
      await expectTensorClose(`${name} loss`, loss, fixture.get(`${name}.loss`));
      await expectTensorClose(`${name} dlogits`, gradLogits!, fixture.get(`${name}.dlogits`));
      const criterion = new CrossEntropyLoss();
      await expectTensorClose(`${name} CrossEntropyLoss.value`, criterion.value(logits, labels), fixture.get(`${name}.loss`));
      logits.dispose();
      labels.dispose();
    });
  }

  it('without the gradient returns only the loss', async () => {
    const logits = cpuTensor(fixture.get('batch4_classes10.logits'));
    const labels = cpuTensor(fixture.get('batch4_classes10.labels'));
    const { loss, gradLogits } = softmaxCrossEntropy(logits, labels, { withGrad: false });
    expect(gradLogits).toBeNull();
    await expectTensorClose('loss', loss, fixture.get('batch4_classes10.loss'));
    logits.dispose();
    labels.dispose();
  });

  it('gives a NaN loss (and no out-of-bounds read) for a label outside [0, classes)', async () => {
    const logits = Tensor.zeros([2, 3], { backend: 'cpu' });
    for (const bad of [3, -1]) {
      const labels = Tensor.fromArray(new Int32Array([0, bad]), [2], { backend: 'cpu' });
      const { loss, gradLogits } = softmaxCrossEntropy(logits, labels);
      expect(Number.isNaN((await loss.toArray())[0])).toBe(true);
      for (const t of [labels, loss, gradLogits!]) t.dispose();
    }
    logits.dispose();
  });
});

describe('countTopkCorrect matches torch.topk', () => {
  for (const c of topkCases) {
    for (const [k, expected] of Object.entries(c.counts)) {
      it(`${c.name}, k = ${k}: ${expected} of 64`, async () => {
        const logits = cpuTensor(fixture.get(`${c.name}.logits`));
        const labels = cpuTensor(fixture.get(`${c.name}.labels`));
        const counter = Tensor.full([1], 5, { backend: 'cpu' });  // it adds to what is there
        countTopkCorrect(logits, labels, Number(k), counter);
        expect((await counter.toArray())[0]).toBe(5 + expected);
        for (const t of [logits, labels, counter]) t.dispose();
      });
    }
  }
});
