/**
 * model.summary(): its figures for full-size torchvision AlexNet against hand-computed ones (the
 * parameter counts torchvision's documentation gives, and multiply-adds worked out per layer from
 * the output shapes), frozen counts, batch scaling, and the table.
 */
import { describe, expect, it } from 'vitest';

import { createAlexNet } from '../../lib/models/alexnet';
import { summarize } from '../../lib/models/summary';
import { Linear } from '../../lib/nn/linear';

/** torchvision AlexNet at 224x224, by hand: output shape, parameters (weights + biases), multiply-adds (outputs x inputs per output). */
const TORCHVISION: [string, number[], number, number][] = [
  ['features.0', [1, 64, 55, 55], 64 * 3 * 11 * 11 + 64, 64 * 55 * 55 * (3 * 11 * 11)],
  ['features.3', [1, 192, 27, 27], 192 * 64 * 5 * 5 + 192, 192 * 27 * 27 * (64 * 5 * 5)],
  ['features.6', [1, 384, 13, 13], 384 * 192 * 3 * 3 + 384, 384 * 13 * 13 * (192 * 3 * 3)],
  ['features.8', [1, 256, 13, 13], 256 * 384 * 3 * 3 + 256, 256 * 13 * 13 * (384 * 3 * 3)],
  ['features.10', [1, 256, 13, 13], 256 * 256 * 3 * 3 + 256, 256 * 13 * 13 * (256 * 3 * 3)],
  ['classifier.1', [1, 4096], 9216 * 4096 + 4096, 9216 * 4096],
  ['classifier.4', [1, 4096], 4096 * 4096 + 4096, 4096 * 4096],
  ['classifier.6', [1, 1000], 4096 * 1000 + 1000, 4096 * 1000],
];

describe('model.summary()', () => {
  it('torchvision AlexNet: 61,100,840 parameters, 714,188,480 multiply-adds, per layer as computed by hand', () => {
    const model = createAlexNet({ preset: 'torchvision', seed: 0, backend: 'cpu' });
    try {
      const s = model.summary();
      expect(s.inputShape).toEqual([1, 3, 224, 224]);
      expect(s.totalParameters).toBe(61_100_840);
      expect(s.trainableParameters).toBe(61_100_840);
      expect(s.frozenParameters).toBe(0);
      expect(s.parameterBytes).toBe(4 * 61_100_840);
      // 0.71 G: the figure torchvision's model table gives for AlexNet ("GFLOPS", counting multiply-adds).
      expect(s.multiplyAdds).toBe(714_188_480);
      const weighted = s.layers.filter((l) => l.parameters > 0);
      expect(weighted.map((l) => [l.name, l.outputShape, l.parameters, l.multiplyAdds])).toEqual(TORCHVISION);
      // FLOPs: 2 per multiply-add, plus one addition per output element for each bias.
      const biasAdds = TORCHVISION.reduce((n, [, shape]) => n + shape.reduce((a, b) => a * b, 1), 0);
      expect(biasAdds).toBe(494_184);
      expect(s.flops).toBe(2 * 714_188_480 + 494_184);
      for (const l of s.layers) if (l.parameters === 0) expect(l.flops, l.name).toBe(0);
      // Every layer is listed, pooling and flatten included, with its output shape.
      expect(s.layers.map((l) => l.name)).toEqual([
        ...Array.from({ length: 13 }, (_, i) => `features.${i}`),
        'avgpool',
        'flatten',
        ...Array.from({ length: 7 }, (_, i) => `classifier.${i}`),
      ]);
      expect(s.layers.find((l) => l.name === 'avgpool')!.outputShape).toEqual([1, 256, 6, 6]);
      expect(s.layers.find((l) => l.name === 'flatten')!.outputShape).toEqual([1, 9216]);
      expect(s.text).toContain('Total params: 61,100,840');
      expect(s.text).toContain('Trainable params: 61,100,840');
      expect(s.text).toMatch(/features\.0 \(Conv2d\)\s+\[1, 64, 55, 55\]\s+23,296\s+yes\s+140\.75 M/);
      expect(s.text).toContain('a multiply-add is 2 FLOPs');

      // Frozen features: 2,469,696 parameters frozen; batch 8 multiplies the arithmetic.
      model.freeze('features');
      const frozen = model.summary(8);
      expect(frozen.frozenParameters).toBe(2_469_696);
      expect(frozen.trainableParameters).toBe(61_100_840 - 2_469_696);
      expect(frozen.multiplyAdds).toBe(8 * 714_188_480);
      expect(frozen.layers[0].outputShape).toEqual([8, 64, 55, 55]);
      expect(frozen.text).toMatch(/features\.0 \(Conv2d\)\s+\[8, 64, 55, 55\]\s+23,296\s+frozen/);
      expect(frozen.text).toContain('Frozen params: 2,469,696');
      expect(() => model.summary(0)).toThrow(/batch/);
    } finally {
      model.dispose();
    }
  });

  it('paper preset: grouped convolutions count (in / groups) inputs per output', () => {
    const model = createAlexNet({ preset: 'paper', width: 1 / 16, seed: 0, backend: 'cpu' });
    try {
      const s = model.summary();
      const conv2 = s.layers.find((l) => l.name === 'features.4')!;
      // width 1/16: conv1 6 channels, conv2 16 channels in 2 groups, 5x5 kernels, 27x27 output.
      expect(conv2.outputShape).toEqual([1, 16, 27, 27]);
      expect(conv2.multiplyAdds).toBe(16 * 27 * 27 * (6 / 2) * 5 * 5);
      expect(s.totalParameters).toBe(model.parameterCount());
    } finally {
      model.dispose();
    }
  });

  it('summarize works on any module, a lone Linear included', () => {
    const layer = new Linear({ inFeatures: 10, outFeatures: 4, backend: 'cpu', seed: 1 });
    const s = summarize(layer, [3, 10]);
    expect(s.layers).toEqual([
      { name: '', kind: 'Linear', outputShape: [3, 4], parameters: 44, trainable: 44, multiplyAdds: 120, flops: 252 },
    ]);
    expect(() => summarize(layer, [3, 11])).toThrow(RangeError);
    layer.dispose();
  });
});
