/**
 * Every AlexNet preset at full size against the same network in plain PyTorch
 * (test/reference/fixtures/models/full_size.json): the default input, each layer's output shape
 * and the parameter count, which must also be the published one. (fullSizePytorch.test.ts compares
 * the values: logits and every gradient.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { createAlexNet, PRESETS, type PresetName } from '../../lib/models/alexnet';
import { FIXTURES_DIR } from '../helpers';

interface FullSize {
  presets: Record<
    PresetName,
    { inputSize: number; inChannels: number; numClasses: number; parameterCount: number; layers: [string, number[]][] }
  >;
}

/**
 * The parameter counts at the presets' default class counts, worked out by hand from their sources
 * (the paper's and the seed's 60,965,224 include the two-way grouping of conv2, conv4 and conv5).
 */
const PUBLISHED: Record<PresetName, number> = {
  paper: 60_965_224,
  'seed-tf': 60_965_224,
  torchvision: 61_100_840,
  'keras-v1': 16_630_440,
  'keras-v2': 5_925_672,
  d2l: 46_764_746,
};

const fullSize = JSON.parse(readFileSync(join(FIXTURES_DIR, 'models', 'full_size.json'), 'utf8')) as FullSize;

describe('presets at full size match PyTorch', () => {
  it('the fixture covers every preset', () => {
    expect(Object.keys(fullSize.presets).sort()).toEqual([...PRESETS].sort());
  });

  for (const preset of PRESETS) {
    it(`${preset}: default input, every layer's output shape and the parameter count`, () => {
      const reference = fullSize.presets[preset];
      const model = createAlexNet({ preset, backend: 'cpu', seed: 1 });
      try {
        expect([model.config.inChannels, model.config.inputSize, model.config.numClasses]).toEqual([
          reference.inChannels,
          reference.inputSize,
          reference.numClasses,
        ]);
        expect(model.layerShapes(1)).toEqual(reference.layers);
        expect(model.parameterCount()).toBe(reference.parameterCount);
        expect(model.parameterCount()).toBe(PUBLISHED[preset]);
      } finally {
        model.dispose();
      }
    });
  }
});
