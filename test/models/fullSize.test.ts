/**
 * Every AlexNet preset at full size against the same network in plain PyTorch
 * (test/reference/fixtures/models/full_size.json): the default input, each layer's output shape
 * and the parameter count.
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
      } finally {
        model.dispose();
      }
    });
  }
});

