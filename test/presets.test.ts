import { describe, expect, it } from 'vitest';

import { createAlexNet, PRESETS } from '../lib/index';

describe('presets', () => {
  it('build every preset with its default input (reduced width; full size in test/models/fullSize.test.ts)', () => {
    for (const preset of PRESETS) {
      const model = createAlexNet({ preset, backend: 'cpu', width: 0.25 });
      const shapes = model.layerShapes(2);
      expect(shapes.at(-1)![1]).toEqual([2, preset === 'd2l' ? 10 : 1000]);
      model.dispose();
    }
  });
});
