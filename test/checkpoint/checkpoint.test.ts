import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import {
  CheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
  loadModel,
  loadOptimizerState,
  modelFromCheckpoint,
  readCheckpoint,
  saveCheckpoint,
} from '../../lib/checkpoint/format';
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from '../../lib/io/safetensors';
import { createAlexNet, type AlexNet } from '../../lib/models/alexnet';
import { CrossEntropyLoss } from '../../lib/nn/loss';
import { AdamW } from '../../lib/optim/adamw';
import type { Optimizer } from '../../lib/optim/optimizer';
import { SGD } from '../../lib/optim/sgd';
import { Rng } from '../../lib/data/rng';
import { Tensor } from '../../lib/tensor';
import { dropoutLayers } from '../../lib/training/resume';
import { expectSameBits } from './bits';

const backend = 'cpu' as const;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'alexnet-ckpt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function small(seed = 1, width = 0.125): AlexNet {
  return createAlexNet({ preset: 'd2l', width, inputSize: 68, seed, backend });
}

async function params(model: AlexNet): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [name, p] of model.namedParameters()) out.set(name, (await p.value.toArray()) as Float32Array);
  return out;
}

async function trainSteps(model: AlexNet, optimizer: Optimizer, steps: number): Promise<void> {
  const loss = new CrossEntropyLoss();
  for (let i = 0; i < steps; i++) {
    const x = Tensor.uniform([4, 1, 68, 68], { seed: 100 + i }, { backend });
    const y = Tensor.fromArray(new Int32Array([1, 2, 3, 4]), [4], { backend, dtype: 'int32' });
    const logits = model.forward(x);
    const { loss: l, gradLogits } = loss.compute(logits, y);
    model.backward(gradLogits);
    optimizer.step();
    for (const t of [x, y, logits, l, gradLogits]) t.dispose();
  }
}

describe('checkpoints', () => {
  it('round-trip parameters, configuration, class names and preprocessing', async () => {
    const model = small(3);
    model.classes = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
    model.preprocessing = [{ kind: 'resize', size: [68, 68] }];
    const file = path.join(tmp, 'model.safetensors');
    await saveCheckpoint(file, model);
    const loaded = await loadModel(file, { backend });
    expect(loaded.config).toEqual(model.config);
    expect(loaded.classes).toEqual(model.classes);
    expect(loaded.preprocessing).toEqual(model.preprocessing);
    expectSameBits(await params(loaded), await params(model));
    const checkpoint = await readCheckpoint(file);
    expect(checkpoint.metadata.format).toBe('pt');
    expect(checkpoint.optimizer).toBeNull();
    expect([...checkpoint.parameters.keys()]).toContain('features.0.weight');
  });

  it("record the backend's precision (fp32 parameters in every mode); an unknown one is a CheckpointError naming the file", async () => {
    const model = small(4);
    const cpu = model.backend;
    expect(decodeCheckpoint(await encodeCheckpoint(model)).precision).toBe('fp32');
    cpu.setMathMode('bf16');
    let bytes: Buffer;
    try {
      bytes = Buffer.from(await encodeCheckpoint(model));
    } finally {
      cpu.setMathMode('fp32');
    }
    const decoded = decodeCheckpoint(bytes, 'bf16.safetensors');
    expect(decoded.precision).toBe('bf16');
    expect(decoded.metadata['alexnet-cuda.precision']).toBe('bf16');
    const sorted = (m: Map<string, Float32Array>) => new Map([...m].sort(([a], [b]) => a.localeCompare(b)));
    expectSameBits(sorted(new Map([...decoded.parameters].map(([k, v]) => [k, v.data]))), sorted(await params(model)));
    // Files written before the precision was recorded say nothing: null.
    const header = bytes.readUInt32LE(0);
    const json = bytes.subarray(8, 8 + header).toString('utf8');
    expect(json).toContain('"alexnet-cuda.precision":"bf16"');
    const replaced = (text: string) => {
      const head = Buffer.from(json.replace('"alexnet-cuda.precision":"bf16"', text).padEnd(header, ' '));
      expect(head.length).toBe(header);
      return Buffer.concat([bytes.subarray(0, 8), head, bytes.subarray(8 + header)]);
    };
    expect(decodeCheckpoint(replaced('"alexnet-cuda.no-precision":"x"'), 'old.safetensors').precision).toBeNull();
    expect(() => decodeCheckpoint(replaced('"alexnet-cuda.precision":"fp16"'), 'odd.safetensors')).toThrow(
      /odd\.safetensors: metadata "alexnet-cuda\.precision" must be one of fp32, tf32, bf16, got "fp16"/,
    );
    model.dispose();
  });

  it('round-trip the optimizer: momentum buffers, step count and learning rate', async () => {
    const model = small(4);
    const optimizer = new SGD(
      model.namedParameters().map(([, p]) => p),
      { lr: 0.05, momentum: 0.9, weightDecay: 1e-4 },
    );
    await trainSteps(model, optimizer, 2);
    optimizer.lr = 0.02;
    const bytes = await encodeCheckpoint(model, { optimizer, training: { note: 'x' } });
    const checkpoint = decodeCheckpoint(bytes, 'mem');
    expect(checkpoint.training).toEqual({ note: 'x' });
    const copy = modelFromCheckpoint(checkpoint, { backend });
    const restored = new SGD(
      copy.namedParameters().map(([, p]) => p),
      { lr: 0.05, momentum: 0.9, weightDecay: 1e-4 },
    );
    loadOptimizerState(restored, copy, checkpoint);
    expect(restored.steps).toBe(2);
    expect(restored.lr).toBe(0.02);
    const buffers = async (o: SGD) =>
      new Map(await Promise.all(o.buffers.map(async (b, i) => [String(i), (await b.toArray()) as Float32Array] as const)));
    expectSameBits(await buffers(restored), await buffers(optimizer), 'momentum buffers');
    // With the dropout streams where the original's are (the Trainer stores them too), the two continue identically.
    const theirs = new Map(dropoutLayers(model));
    for (const [name, layer] of dropoutLayers(copy)) layer.setState(theirs.get(name)!.getState());
    await trainSteps(model, optimizer, 1);
    await trainSteps(copy, restored, 1);
    expectSameBits(await params(copy), await params(model));
    const other = new SGD(
      copy.namedParameters().map(([, p]) => p),
      { lr: 0.05, momentum: 0.5 },
    );
    expect(() => loadOptimizerState(other, copy, checkpoint)).toThrow(/saved with momentum 0.9, this one has 0.5/);
  });

  it('round-trip AdamW in two groups with a frozen parameter: moments, per-parameter steps, group learning rates', async () => {
    const make = (model: AlexNet) => {
      const named = model.namedParameters();
      named[0][1].requiresGrad = false;
      return new AdamW(
        [
          { params: named.filter(([n]) => n.startsWith('features.')).map(([, p]) => p), lr: 1e-3 },
          { params: named.filter(([n]) => !n.startsWith('features.')).map(([, p]) => p), betas: [0.8, 0.99] },
        ],
        { lr: 3e-3 },
      );
    };
    const model = small(7);
    const optimizer = make(model);
    await trainSteps(model, optimizer, 2);
    optimizer.scaleLr(0.5);
    const checkpoint = decodeCheckpoint(await encodeCheckpoint(model, { optimizer }), 'adamw');
    expect(checkpoint.optimizer!.type).toBe('adamw');
    expect([...checkpoint.optimizer!.tensors.keys()].sort()).toEqual(['exp_avg', 'exp_avg_sq']);
    expect(checkpoint.optimizer!.tensors.get('exp_avg')!.has('features.0.weight')).toBe(false); // frozen: no state
    const copy = modelFromCheckpoint(checkpoint, { backend });
    const restored = make(copy);
    loadOptimizerState(restored, copy, checkpoint);
    expect(restored.groups.map((g) => g.lr)).toEqual([5e-4, 1.5e-3]);
    expect(restored.getState().paramSteps).toEqual(optimizer.getState().paramSteps);
    const theirs = new Map(dropoutLayers(model));
    for (const [name, layer] of dropoutLayers(copy)) layer.setState(theirs.get(name)!.getState());
    await trainSteps(model, optimizer, 1);
    await trainSteps(copy, restored, 1);
    expectSameBits(await params(copy), await params(model));
    // Another optimizer, or other options, is refused with the difference named.
    const sgd = new SGD(
      copy.namedParameters().map(([, p]) => p),
      { lr: 0.1 },
    );
    expect(() => loadOptimizerState(sgd, copy, checkpoint)).toThrow(/adamw: the optimizer was saved as adamw, this one is sgd/);
    const named = copy.namedParameters().map(([, p]) => p);
    expect(() => loadOptimizerState(new AdamW(named, { lr: 3e-3 }), copy, checkpoint)).toThrow(
      /saved with 2 parameter groups, this one has 1/,
    );
    const otherBetas = new AdamW([{ params: named.slice(0, 10) }, { params: named.slice(10), betas: [0.9, 0.99] }], { lr: 3e-3 });
    expect(() => loadOptimizerState(otherBetas, copy, checkpoint)).toThrow(
      /saved with groups\[1\]\.betas \[0\.8,0\.99\], this one has \[0\.9,0\.99\]/,
    );
    for (const o of [optimizer, restored, sgd, otherBetas]) o.dispose();
  });

  it('load an SGD state saved before parameter groups (options at the top, no paramSteps)', async () => {
    const model = small(8);
    const optimizer = new SGD(
      model.namedParameters().map(([, p]) => p),
      { lr: 0.05, momentum: 0.9 },
    );
    await trainSteps(model, optimizer, 2);
    const file = decodeSafetensors(await encodeCheckpoint(model, { optimizer }), 'new');
    const legacyMetadata = {
      ...file.metadata,
      'alexnet-cuda.optimizer': JSON.stringify({ lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, steps: 2 }),
    };
    const tensors = Object.fromEntries([...file.tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data }]));
    const checkpoint = decodeCheckpoint(encodeSafetensors(tensors, legacyMetadata), 'legacy');
    expect(checkpoint.optimizer!.type).toBe('sgd');
    const copy = modelFromCheckpoint(checkpoint, { backend });
    const restored = new SGD(
      copy.namedParameters().map(([, p]) => p),
      { lr: 0.05, momentum: 0.9 },
    );
    loadOptimizerState(restored, copy, checkpoint);
    expect([restored.steps, restored.lr]).toEqual([2, 0.05]);
    const theirs = new Map(dropoutLayers(model));
    for (const [name, layer] of dropoutLayers(copy)) layer.setState(theirs.get(name)!.getState());
    await trainSteps(model, optimizer, 1);
    await trainSteps(copy, restored, 1);
    expectSameBits(await params(copy), await params(model));
    optimizer.dispose();
    restored.dispose();
  });

  it('name the tensor when names or shapes do not match the model', async () => {
    const bytes = await encodeCheckpoint(small(5, 0.125));
    const wider = small(5, 0.25);
    const checkpoint = decodeCheckpoint(bytes, 'narrow.safetensors');
    expect(() => modelFromCheckpoint({ ...checkpoint, config: wider.config }, { backend })).toThrow(
      /narrow\.safetensors: parameter "features\.0\.weight" has shape \[12, 1, 11, 11\], the model's is \[24, 1, 11, 11\]/,
    );
    const missing = new Map(checkpoint.parameters);
    missing.delete('classifier.6.bias');
    expect(() => modelFromCheckpoint({ ...checkpoint, parameters: missing }, { backend })).toThrow(
      /has no parameter "classifier\.6\.bias"/,
    );
    const extra = new Map(checkpoint.parameters).set('features.99.weight', { shape: [1], data: new Float32Array(1) });
    expect(() => modelFromCheckpoint({ ...checkpoint, parameters: extra }, { backend })).toThrow(
      /parameters the model does not have: "features\.99\.weight"/,
    );
    expect(() => modelFromCheckpoint({ ...checkpoint, config: null }, { backend })).toThrow(/has no model configuration/);
  });

  it('reject a file truncated at any of many offsets, naming the file, never crashing', async () => {
    const model = small(6);
    const optimizer = new SGD(
      model.namedParameters().map(([, p]) => p),
      { lr: 0.1, momentum: 0.9 },
    );
    await trainSteps(model, optimizer, 1);
    const bytes = Buffer.from(await encodeCheckpoint(model, { optimizer, training: { epoch: 1 } }));
    const headerEnd = 8 + Number(bytes.readBigUInt64LE(0));
    const offsets = new Set<number>([0, 1, 7, 8, 9, headerEnd - 1, headerEnd, headerEnd + 1, bytes.length - 4, bytes.length - 1]);
    for (let n = 0; n < headerEnd; n += 97) offsets.add(n);
    const rng = new Rng(7);
    for (let i = 0; i < 60; i++) offsets.add(headerEnd + rng.int(bytes.length - headerEnd));
    for (const n of offsets) {
      let error: unknown;
      try {
        decodeCheckpoint(bytes.subarray(0, n), `cut-${n}`);
      } catch (e) {
        error = e;
      }
      expect(error, `truncated at ${n} of ${bytes.length}`).toBeInstanceOf(SafetensorsError);
      expect((error as Error).message).toMatch(new RegExp(`^cut-${n}: `));
    }
    const file = path.join(tmp, 'truncated.safetensors');
    writeFileSync(file, bytes.subarray(0, bytes.length - 100));
    await expect(readCheckpoint(file)).rejects.toThrow(/truncated\.safetensors: .*truncated/);
    await expect(readCheckpoint(path.join(tmp, 'absent.safetensors'))).rejects.toThrow(/absent\.safetensors: no such checkpoint/);
  });

  it('reject a corrupted header with a clear error, never crashing', async () => {
    const bytes = Buffer.from(await encodeCheckpoint(small(7), { training: { epoch: 0 } }));
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = bytes.subarray(8, 8 + headerLength).toString('utf8');
    const withHeader = (text: string) => {
      const h = Buffer.from(text.padEnd(headerLength, ' '));
      return Buffer.concat([bytes.subarray(0, 8), h.subarray(0, headerLength), bytes.subarray(8 + headerLength)]);
    };
    const cases: [string, Buffer, RegExp][] = [
      ['length past the end', Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0, 0, 0, 0, 0]), bytes.subarray(8)]), /exceeds the file/],
      ['not JSON', withHeader(header.replace('{', 'x')), /not valid JSON/],
      ['offsets moved', withHeader(header.replace(/"data_offsets":\[0,/, '"data_offsets":[4,')), /data_offsets|overlap or gap/],
      ['unknown dtype', withHeader(header.replace('"F32"', '"F16"')), /unsupported dtype "F16"/],
      [
        'config not JSON',
        withHeader(header.replace('"alexnet-cuda.config":"{', '"alexnet-cuda.config":"[')),
        /metadata "alexnet-cuda.config" is not valid JSON/,
      ],
      [
        'config invalid',
        withHeader(header.replace('\\"preset\\":\\"d2l\\"', '\\"preset\\":\\"d3l\\"')),
        /stored model configuration is invalid/,
      ],
    ];
    for (const [what, corrupted, message] of cases) {
      expect(() => decodeCheckpoint(corrupted, what), what).toThrow(message);
    }
    // Random byte flips anywhere in the header: a known error when the file is read or when a model
    // is built from it, or (where the flip lands in a metadata string or the padding) a model whose
    // tensors are exactly the original's.
    const original = decodeCheckpoint(bytes, 'original');
    const rng = new Rng(11);
    let rejected = 0;
    for (let i = 0; i < 300; i++) {
      const copy = Buffer.from(bytes);
      const at = 8 + rng.int(headerLength);
      copy[at] = copy[at] ^ (1 + rng.int(255));
      let decoded: ReturnType<typeof decodeCheckpoint> | undefined;
      try {
        decoded = decodeCheckpoint(copy, 'flipped');
        modelFromCheckpoint(decoded, { backend }).dispose();
      } catch (error) {
        expect(
          error instanceof SafetensorsError || error instanceof CheckpointError,
          `flip at ${at}: ${(error as Error).name}: ${(error as Error).message}`,
        ).toBe(true);
        rejected++;
        continue;
      }
      expect([...decoded.parameters.keys()], `flip at ${at} accepted with other tensors`).toEqual([...original.parameters.keys()]);
      for (const [name, t] of decoded.parameters) {
        const o = original.parameters.get(name)!;
        expect(t.shape, `flip at ${at}: ${name} shape`).toEqual(o.shape);
        expect(
          Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(
            Buffer.from(o.data.buffer, o.data.byteOffset, o.data.byteLength),
          ),
          `flip at ${at}: ${name} data`,
        ).toBe(true);
      }
    }
    // Most of the header is structure (names, dtypes, shapes, offsets, JSON): most flips must be caught.
    expect(rejected).toBeGreaterThan(150);
  });

  it('can be read back after being written over many times', async () => {
    const model = small(8);
    const file = path.join(tmp, 'again.safetensors');
    for (let i = 0; i < 3; i++) await saveCheckpoint(file, model, { metadata: { round: String(i) } });
    expect((await readCheckpoint(file)).metadata.round).toBe('2');
    expect(readFileSync(file).length).toBeGreaterThan(1000);
  });
});
