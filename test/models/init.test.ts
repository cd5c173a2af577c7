/**
 * The initialization schemes' distributions, on the seed-tf preset at half width (eight weighted layers,
 * fan-ins from 363 to 4608): bounds, spreads and biases as each scheme defines them, and each
 * preset's default scheme.
 */
import { describe, expect, it } from 'vitest';

import { createAlexNet, PRESETS, type PresetName } from '../../lib/models/alexnet';
import { weightedLayers, type InitScheme } from '../../lib/models/init';

async function layerStats(
  init: InitScheme,
): Promise<{ fanIn: number; fanOut: number; std: number; maxAbs: number; biases: Float32Array }[]> {
  const model = createAlexNet({ preset: 'seed-tf', init, seed: 5, width: 0.5, backend: 'cpu' });
  try {
    const out = [];
    for (const layer of weightedLayers(model.network)) {
      const w = (await layer.weight.value.toArray()) as Float32Array;
      let sumSq = 0;
      let maxAbs = 0;
      for (const v of w) {
        sumSq += v * v;
        maxAbs = Math.max(maxAbs, Math.abs(v));
      }
      const biases = (await layer.bias!.value.toArray()) as Float32Array;
      out.push({ fanIn: layer.fanIn, fanOut: layer.fanOut, std: Math.sqrt(sumSq / w.length), maxAbs, biases });
    }
    return out;
  } finally {
    model.dispose();
  }
}

describe('initialization schemes', () => {
  it("truncated-normal is the seed's tf.truncated_normal(stddev=0.1): within 0.2, std 0.088, zero biases", async () => {
    const layers = await layerStats('truncated-normal');
    expect(layers).toHaveLength(8);
    for (const { std, maxAbs, biases } of layers) {
      expect(maxAbs).toBeLessThanOrEqual(0.2 * (1 + 1e-6));
      expect(maxAbs).toBeGreaterThan(0.19); // the tails up to the bound are there
      expect(std).toBeGreaterThan(0.0879 * 0.97); // a normal truncated at 2 sigma keeps 0.8796 of its std
      expect(std).toBeLessThan(0.0879 * 1.03);
      expect(biases.every((b) => b === 0)).toBe(true);
    }
  });

  it("keras is Keras' default: Glorot uniform weights and zero biases", async () => {
    for (const { fanIn, fanOut, std, maxAbs, biases } of await layerStats('keras')) {
      const bound = Math.sqrt(6 / (fanIn + fanOut));
      expect(maxAbs).toBeLessThanOrEqual(bound * (1 + 1e-6)); // the bound itself is rounded to float32
      expect(std / (bound / Math.sqrt(3))).toBeGreaterThan(0.97); // uniform(-b, b) has std b / sqrt(3)
      expect(std / (bound / Math.sqrt(3))).toBeLessThan(1.03);
      expect(biases.every((b) => b === 0)).toBe(true);
    }
  });

  it('kaiming is He normal with zero biases', async () => {
    for (const { fanIn, std, biases } of await layerStats('kaiming')) {
      expect(std / Math.sqrt(2 / fanIn)).toBeGreaterThan(0.97);
      expect(std / Math.sqrt(2 / fanIn)).toBeLessThan(1.03);
      expect(biases.every((b) => b === 0)).toBe(true);
    }
  });

  it('each preset has its documented default', () => {
    const expected: Record<PresetName, InitScheme> = {
      paper: 'paper',
      'seed-tf': 'kaiming',
      torchvision: 'pytorch',
      'keras-v1': 'keras',
      'keras-v2': 'keras',
      d2l: 'xavier',
    };
    for (const preset of PRESETS) {
      const model = createAlexNet({ preset, width: 0.25, backend: 'cpu' });
      expect(model.config.init, preset).toBe(expected[preset]);
      model.dispose();
    }
  });
});
