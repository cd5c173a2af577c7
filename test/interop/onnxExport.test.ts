/**
 * ONNX export of every preset, run in onnxruntime-node: the logits must match ours within 1e-4
 * relative, and the graph must use the standard operators (LRN as LRN with PyTorch's alpha, groups
 * as Conv's group, SAME padding as explicit pads, no Dropout), read back by an independent decoder.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';

import { encodeOnnx, exportOnnx } from '../../lib/interop/onnxExport';
import { createAlexNet, PRESETS, type AlexNet, type AlexNetOptions, type PresetName } from '../../lib/models/alexnet';
import { ReLU } from '../../lib/nn/activation';
import { Conv2d } from '../../lib/nn/conv2d';
import { Flatten } from '../../lib/nn/flatten';
import { Linear } from '../../lib/nn/linear';
import { Module } from '../../lib/nn/module';
import { Sequential } from '../../lib/nn/sequential';
import { Tensor } from '../../lib/tensor';
import { compareArrays } from '../helpers';
import { readOnnx } from './onnxRead';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'alexnet-onnx-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Our logits and onnxruntime's for the same random batch, and the exported model read back. */
async function bothWays(
  model: Module,
  input: Tensor,
  onnx: Uint8Array,
): Promise<{ ours: Float32Array; theirs: Float32Array; graph: ReturnType<typeof readOnnx> }> {
  model.eval();
  const y = model.forward(input);
  const ours = (await y.toArray()) as Float32Array;
  y.dispose();
  const session = await ort.InferenceSession.create(onnx);
  try {
    const result = await session.run({ input: new ort.Tensor('float32', (await input.toArray()) as Float32Array, [...input.shape]) });
    expect(session.outputNames).toEqual(['logits']);
    expect([...result.logits.dims]).toEqual([...model.outputShape(input.shape)]);
    return { ours, theirs: result.logits.data as Float32Array, graph: readOnnx(onnx) };
  } finally {
    await session.release();
  }
}

function batchFor(model: AlexNet, n = 2): Tensor {
  const { inChannels, inputSize } = model.config;
  return Tensor.uniform([n, inChannels, inputSize, inputSize], { low: -2, high: 2, seed: 5 }, { backend: 'cpu' });
}

/** What each preset's graph must contain besides Conv, Relu, MaxPool, Flatten and Gemm. */
const EXPECTED: Record<PresetName, { lrn: number; groups: number[]; firstPads: number[] }> = {
  paper: { lrn: 2, groups: [1, 2, 1, 2, 2], firstPads: [0, 0, 0, 0] },
  'seed-tf': { lrn: 2, groups: [1, 2, 1, 2, 2], firstPads: [3, 3, 4, 4] }, // SAME, stride 4 on 224: 3 before, 4 after
  torchvision: { lrn: 0, groups: [1, 1, 1, 1, 1], firstPads: [2, 2, 2, 2] },
  'keras-v1': { lrn: 0, groups: [1, 1, 1, 1, 1], firstPads: [1, 1, 2, 2] }, // ZeroPadding2D((1, 2), (1, 2))
  'keras-v2': { lrn: 0, groups: [1, 1, 1, 1, 1], firstPads: [1, 1, 2, 2] },
  d2l: { lrn: 0, groups: [1, 1, 1, 1, 1], firstPads: [1, 1, 1, 1] },
};

describe('ONNX export, run in onnxruntime-node', () => {
  for (const preset of PRESETS) {
    // torchvision at full size (the model people deploy); the others at half width, which keeps every layer kind and is 4x quicker.
    const width = preset === 'torchvision' ? 1 : 0.5;
    it(`${preset} (width ${width}) gives our logits, with standard operators`, async () => {
      const model = createAlexNet({ preset, width, seed: 11, backend: 'cpu' });
      model.classes = Array.from({ length: model.config.numClasses }, (_, i) => `c${i}`);
      if (EXPECTED[preset].lrn > 0) {
        // Large enough activations that LRN's alpha term matters (about 10% of k): a wrong alpha convention then fails the comparison too.
        const [, first] = model.namedParameters()[0];
        const scaled = ((await first.value.toArray()) as Float32Array).map((v) => v * 100);
        first.set(Tensor.fromArray(scaled, first.value.shape, { backend: 'cpu' }));
      }
      const input = batchFor(model);
      try {
        const { ours, theirs, graph } = await bothWays(model, input, await encodeOnnx(model));
        expect(Math.max(...ours.map(Math.abs))).toBeGreaterThan(1e-3);
        compareArrays(`${preset} onnxruntime logits`, theirs, ours, 1e-4);

        expect(graph.irVersion).toBe(8);
        expect(graph.opsets).toEqual([{ domain: '', version: 17 }]);
        const ops = new Set(graph.nodes.map((n) => n.op));
        for (const op of ops) expect(['Conv', 'Relu', 'LRN', 'MaxPool', 'Flatten', 'Gemm']).toContain(op);
        const convs = graph.nodes.filter((n) => n.op === 'Conv');
        expect(convs.map((n) => n.attributes.group)).toEqual(EXPECTED[preset].groups);
        expect(convs[0].attributes.pads).toEqual(EXPECTED[preset].firstPads);
        const lrns = graph.nodes.filter((n) => n.op === 'LRN');
        expect(lrns).toHaveLength(EXPECTED[preset].lrn);
        for (const lrn of lrns) {
          // The paper's alpha 1e-4 multiplies the sum; ONNX (like PyTorch) divides alpha by size: 1e-4 * 5.
          expect(lrn.attributes).toEqual({ size: 5, alpha: Math.fround(5e-4), beta: 0.75, bias: 2 });
        }
        expect(graph.nodes.filter((n) => n.op === 'Gemm').every((n) => n.attributes.transB === 1)).toBe(true);
        expect(graph.initializers.map((i) => i.name)).toEqual(model.namedParameters().map(([n]) => n));
        for (const [i, [, p]] of model.namedParameters().entries()) {
          expect(graph.initializers[i].dims).toEqual([...p.value.shape]);
          expect(graph.initializers[i].bytes).toBe(4 * p.value.size);
        }
        const { inChannels, inputSize, numClasses } = model.config;
        expect(graph.inputs).toEqual([{ name: 'input', dims: ['N', inChannels, inputSize, inputSize] }]);
        expect(graph.outputs).toEqual([{ name: 'logits', dims: ['N', numClasses] }]);
        expect(JSON.parse(graph.metadata['alexnet-cuda.config'])).toEqual(model.config);
        expect(JSON.parse(graph.metadata['alexnet-cuda.classes'])).toEqual(model.classes);
      } finally {
        input.dispose();
        model.dispose();
      }
    });
  }

  const torchvision = (options: AlexNetOptions) =>
    createAlexNet({ preset: 'torchvision', width: 0.25, numClasses: 10, seed: 3, backend: 'cpu', ...options });

  it('torchvision at 416x416 (12x12 features) exports its adaptive pooling as an exact 2x2 AveragePool', async () => {
    const model = torchvision({ inputSize: 416 });
    const input = batchFor(model);
    try {
      const { ours, theirs, graph } = await bothWays(model, input, await encodeOnnx(model));
      compareArrays('torchvision 416 onnxruntime logits', theirs, ours, 1e-4);
      expect(
        graph.nodes.filter((n) => n.op === 'AveragePool').map((n) => [n.name, n.attributes.kernel_shape, n.attributes.strides]),
      ).toEqual([['avgpool', [2, 2], [2, 2]]]);
    } finally {
      input.dispose();
      model.dispose();
    }
  });

  it('refuses adaptive pooling with unequal windows, naming the layer and the sizes', async () => {
    const model = torchvision({ inputSize: 256 });
    try {
      await expect(encodeOnnx(model)).rejects.toThrow(RangeError);
      await expect(encodeOnnx(model)).rejects.toThrow(/^avgpool: adaptive average pooling of 7x7 features to 6x6 has unequal windows/);
    } finally {
      model.dispose();
    }
  });

  it('a fixed batch size, a file written by exportOnnx, and a model built from nn layers', async () => {
    const model = torchvision({});
    const input = batchFor(model, 3);
    const file = path.join(tmp, 'fixed.onnx');
    try {
      await exportOnnx(model, file, { batchSize: 3 });
      const { ours, theirs, graph } = await bothWays(model, input, readFileSync(file));
      compareArrays('fixed batch onnxruntime logits', theirs, ours, 1e-4);
      expect(graph.inputs[0].dims).toEqual([3, 3, 224, 224]);
    } finally {
      input.dispose();
      model.dispose();
    }
    const net = new Sequential(
      new Conv2d({
        inChannels: 2,
        outChannels: 4,
        kernelSize: 3,
        padding: { top: 0, bottom: 1, left: 1, right: 0 },
        groups: 2,
        seed: 1,
        backend: 'cpu',
      }),
      new ReLU(),
      new Flatten(),
      new Linear({ inFeatures: 4 * 4 * 4, outFeatures: 3, seed: 2, backend: 'cpu' }),
    );
    const x = Tensor.uniform([2, 2, 5, 5], { low: -1, high: 1, seed: 4 }, { backend: 'cpu' });
    try {
      await expect(encodeOnnx(net)).rejects.toThrow(
        /options\.inputShape \(\[channels, height, width\]\) is needed for a model that is not an AlexNet/,
      );
      const { ours, theirs, graph } = await bothWays(net, x, await encodeOnnx(net, { inputShape: [2, 5, 5] }));
      compareArrays('Sequential onnxruntime logits', theirs, ours, 1e-4);
      expect(graph.nodes[0].attributes.pads).toEqual([0, 1, 1, 0]);
      expect(graph.initializers.map((i) => i.name)).toEqual(['0.weight', '0.bias', '3.weight', '3.bias']);
    } finally {
      x.dispose();
      net.dispose();
    }
  });

  it('rejects bad arguments and layers without an ONNX equivalent, naming them', async () => {
    class Swish extends Module {
      forward(x: Tensor): Tensor {
        return x.share();
      }
      backward(g: Tensor): Tensor {
        return g.share();
      }
      outputShape(s: readonly number[]): number[] {
        return [...s];
      }
    }
    await expect(encodeOnnx(new Sequential(new Swish()), { inputShape: [1, 2, 2] })).rejects.toThrow(
      /^0: a Swish layer has no ONNX export$/,
    );
    await expect(encodeOnnx({} as Module)).rejects.toThrow(/model must be a Module/);
    const model = torchvision({});
    try {
      await expect(encodeOnnx(model, { batchSize: 0 })).rejects.toThrow(/batchSize must be a positive integer, got 0/);
      await expect(exportOnnx(model, '')).rejects.toThrow(/file must be a path/);
    } finally {
      model.dispose();
    }
  });
});
