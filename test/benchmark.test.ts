/**
 * lib/benchmark.ts on tiny models: the results' structure (one row per fused unit, in model order,
 * with the shapes the model gives), positive timings, the math mode restored, and bad options
 * rejected with errors naming the option. Speed itself is measured by bench/, never in tests.
 */
import { describe, expect, it } from 'vitest';

import { benchmarkInference, benchmarkLayers, benchmarkTraining, summarize } from '../lib/benchmark';
import { createAlexNet, getBackend } from '../lib/index';

const tiny = { backend: 'cpu' as const, width: 0.125, warmup: 1, iterations: 2 };

describe('benchmark', () => {
  it('times a training step and inference', async () => {
    const train = await benchmarkTraining({ ...tiny, preset: 'torchvision', batchSize: 2 });
    expect(train).toMatchObject({ task: 'train', preset: 'torchvision', batchSize: 2, backend: 'cpu', mathMode: 'fp32' });
    expect(train.timing.samplesMs).toHaveLength(2);
    expect(train.timing.medianMs).toBeGreaterThan(0);
    expect(train.imagesPerSecond).toBeCloseTo(2000 / train.timing.medianMs, 6);
    const infer = await benchmarkInference({ ...tiny, preset: 'paper', batchSize: 1 });
    expect(infer).toMatchObject({ task: 'inference', preset: 'paper', batchSize: 1 });
  });

  it('times every fused unit of the model at its shapes, then the loss and SGD', async () => {
    const result = await benchmarkLayers({ ...tiny, preset: 'paper', batchSize: 2 });
    const names = result.rows.map((r) => `${r.name} ${r.layers}`);
    expect(names).toEqual([
      'features.0 Conv2d+ReLU',
      'features.2 LocalResponseNorm',
      'features.3 MaxPool2d',
      'features.4 Conv2d+ReLU',
      'features.6 LocalResponseNorm',
      'features.7 MaxPool2d',
      'features.8 Conv2d+ReLU',
      'features.10 Conv2d+ReLU',
      'features.12 Conv2d+ReLU',
      'features.14 MaxPool2d',
      'classifier.0 Linear+ReLU',
      'classifier.2 Dropout',
      'classifier.3 Linear+ReLU',
      'classifier.5 Dropout',
      'classifier.6 Linear',
      'loss SoftmaxCrossEntropy',
      'sgd SGD',
    ]);
    const model = createAlexNet({ preset: 'paper', width: 0.125, backend: 'cpu' });
    const shapes = new Map(model.layerShapes(2));
    expect(result.rows[0].inputShape).toEqual([2, 3, 227, 227]);
    expect(result.rows[0].outputShape).toEqual(shapes.get('features.1'));
    expect(result.rows[10].inputShape).toEqual(shapes.get('flatten'));
    expect(result.rows.at(-1)!.inputShape).toEqual([model.parameterCount()]);
    model.dispose();
    for (const row of result.rows) {
      expect(row.forward.medianMs).toBeGreaterThan(0);
      expect(row.backward === null).toBe(row.name === 'loss' || row.name === 'sgd');
    }
  });

  it('restores the backend math mode', async () => {
    const backend = getBackend('cpu');
    await benchmarkInference({ ...tiny, batchSize: 1, mathMode: 'tf32' });
    expect(backend.mathMode).toBe('fp32');
  });

  it('rejects bad options, naming them', async () => {
    await expect(benchmarkTraining({ ...tiny, batchSize: 0 })).rejects.toThrow(/batchSize/);
    await expect(benchmarkTraining({ ...tiny, batchSize: 1.5 })).rejects.toThrow(TypeError);
    await expect(benchmarkInference({ ...tiny, batchSize: 1, iterations: 0 })).rejects.toThrow(/iterations/);
    await expect(benchmarkInference({ ...tiny, batchSize: 1, warmup: -1 })).rejects.toThrow(/warmup/);
    // @ts-expect-error: not a preset
    await expect(benchmarkLayers({ ...tiny, batchSize: 1, preset: 'vgg' })).rejects.toThrow(/preset/);
    // @ts-expect-error: not a math mode
    await expect(benchmarkLayers({ ...tiny, batchSize: 1, mathMode: 'fp16' })).rejects.toThrow(/mathMode/);
    await expect(benchmarkLayers({ ...tiny, batchSize: 1, width: 0 })).rejects.toThrow(/width/);
    // @ts-expect-error: not an object
    await expect(benchmarkTraining(null)).rejects.toThrow(TypeError);
  });

  it('summarizes samples with the median', () => {
    expect(summarize([3, 1, 2])).toMatchObject({ medianMs: 2, minMs: 1, maxMs: 3 });
    expect(summarize([4, 1, 2, 3]).medianMs).toBe(2.5);
    expect(() => summarize([])).toThrow(RangeError);
  });
});
