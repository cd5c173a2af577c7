import { describe, expect, it } from 'vitest';

import { createAlexNet, PRESETS } from '../lib/index';

describe('presets at full size', () => {
  it('have the published parameter counts', () => {
    const counts: Record<string, number> = {};
    for (const preset of ['paper', 'torchvision'] as const) {
      const model = createAlexNet({ preset, backend: 'cpu' });
      counts[preset] = model.parameterCount();
      model.dispose();
    }
    expect(counts).toEqual({ paper: 60_965_224, torchvision: 61_100_840 });
  });

  it('build every preset with its default input', () => {
    for (const preset of PRESETS) {
      const model = createAlexNet({ preset, backend: 'cpu', width: 0.25 });
      const shapes = model.layerShapes(2);
      expect(shapes.at(-1)![1]).toEqual([2, preset === 'd2l' ? 10 : 1000]);
      model.dispose();
    }
  });
});
