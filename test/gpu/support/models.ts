/**
 * Running the same model on two backends: copying parameters by name, rewinding dropout so that
 * a repeated pass draws the same masks, a whole training pass read back to the host, and a pass
 * recorded one layer at a time and replayed elsewhere with the recorded inputs.
 */
import { expect } from 'vitest';

import type { Backend } from '../../../lib/backend/backend';
import { CrossEntropyLoss, Dropout, type Module } from '../../../lib/nn/index';
import { Tensor } from '../../../lib/tensor';

/** Sets every parameter of `to` to the values of the parameter of the same name in `from`. */
export async function copyParameters(from: Module, to: Module, backend: Backend): Promise<void> {
  const source = from.namedParameters();
  const target = new Map(to.namedParameters());
  expect(
    source.map(([name]) => name),
    'parameter names',
  ).toEqual([...target.keys()]);
  for (const [name, p] of source) target.get(name)!.set(await p.value.to(backend));
}

/** Every Dropout layer of a module, in forward order. */
export function dropoutLayers(module: Module): Dropout[] {
  if (module instanceof Dropout) return [module];
  return module.children().flatMap(([, child]) => dropoutLayers(child));
}

/** Moves every dropout layer back to the start of its random stream (the masks of a first pass). */
export function rewindDropout(module: Module): void {
  for (const layer of dropoutLayers(module)) layer.offset = 0n;
}

/** What one forward and backward pass produced, on the host. */
export interface PassResult {
  logits: Float32Array;
  loss: number;
  /** Each parameter's gradient, by name, in the model's order. */
  grads: Map<string, Float32Array>;
}

/**
 * Forward (training mode, dropout drawing its first-pass masks), softmax cross-entropy and backward;
 * reads logits, loss and every parameter gradient back.
 */
export async function trainingPass(model: Module, input: Tensor, labels: Tensor): Promise<PassResult> {
  rewindDropout(model);
  model.train();
  const logits = model.forward(input);
  const { loss, gradLogits } = new CrossEntropyLoss().compute(logits, labels);
  model.backward(gradLogits)?.dispose();
  const result: PassResult = {
    logits: (await logits.toArray()) as Float32Array,
    loss: (await loss.toArray())[0],
    grads: new Map(),
  };
  for (const t of [logits, loss, gradLogits]) t.dispose();
  for (const [name, p] of model.namedParameters()) {
    if (!p.grad) throw new Error(`${name} has no gradient after backward`);
    result.grads.set(name, (await p.grad.toArray()) as Float32Array);
  }
  return result;
}

/** The leaf layers of a model in forward order, with dotted names ('features.0', 'classifier.6'). */
export function leafLayers(module: Module, prefix = ''): [string, Module][] {
  const children = module.children();
  if (children.length === 0) return [[prefix, module]];
  return children.flatMap(([name, child]) => leafLayers(child, prefix ? `${prefix}.${name}` : name));
}

/** Values of a tensor on the host. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

async function host(t: Tensor): Promise<HostTensor> {
  return { shape: [...t.shape], data: (await t.toArray()) as Float32Array };
}

/** What one leaf layer saw and produced in a reference pass. */
export interface LayerRecord {
  name: string;
  layer: Module;
  input: HostTensor;
  output: HostTensor;
  gradOutput: HostTensor;
  /** Null for the first layer (the model's input needs no gradient). */
  gradInput: HostTensor | null;
  /** The layer's parameter gradients, by the model's parameter names. */
  paramGrads: Map<string, Float32Array>;
}

/**
 * A training pass run one leaf layer at a time (no fusion of ReLUs into the layer before), keeping
 * every layer's input, output and gradients on the host, for replaying layer by layer elsewhere.
 */
export async function recordLayers(model: Module, input: Tensor, labels: Tensor): Promise<LayerRecord[]> {
  rewindDropout(model);
  model.train();
  const leaves = leafLayers(model);
  const inputs: HostTensor[] = [];
  const outputs: HostTensor[] = [];
  let x = input.share();
  for (const [, layer] of leaves) {
    inputs.push(await host(x));
    const y = layer.forward(x);
    x.dispose(); // the layer keeps its own handles to what its backward needs
    outputs.push(await host(y));
    x = y;
  }
  const { loss, gradLogits } = new CrossEntropyLoss().compute(x, labels);
  x.dispose();
  loss.dispose();
  const records: LayerRecord[] = [];
  let grad: Tensor = gradLogits;
  for (let i = leaves.length - 1; i >= 0; i--) {
    const [name, layer] = leaves[i];
    const gradOutput = await host(grad);
    const gradIn = layer.backward(grad, { inputGrad: i > 0 });
    grad.dispose();
    const paramGrads = new Map<string, Float32Array>();
    for (const [pname, p] of layer.namedParameters(`${name}.`)) paramGrads.set(pname, (await p.grad!.toArray()) as Float32Array);
    records.unshift({
      name,
      layer,
      input: inputs[i],
      output: outputs[i],
      gradOutput,
      gradInput: gradIn ? await host(gradIn) : null,
      paramGrads,
    });
    if (!gradIn) break;
    grad = gradIn;
  }
  return records;
}

/** One leaf layer's results when replayed on another backend with the reference's inputs. */
export interface ReplayedLayer {
  record: LayerRecord;
  output: Float32Array;
  gradInput: Float32Array | null;
  paramGrads: Map<string, Float32Array>;
}

/**
 * Replays a recorded pass on `model` (same architecture, parameters and seed, on `backend`): each
 * leaf layer's forward gets the reference's input for that layer, and its backward the reference's
 * output gradient, so that every layer is compared on identical inputs.
 */
export async function replayLayers(model: Module, records: LayerRecord[], backend: Backend): Promise<ReplayedLayer[]> {
  rewindDropout(model);
  model.train();
  const leaves = leafLayers(model);
  expect(
    leaves.map(([name]) => name),
    'leaf layers',
  ).toEqual(records.map((r) => r.name));
  const outputs: Float32Array[] = [];
  for (const [i, [, layer]] of leaves.entries()) {
    const x = Tensor.fromArray(records[i].input.data, records[i].input.shape, { backend });
    const y = layer.forward(x);
    x.dispose();
    outputs.push((await y.toArray()) as Float32Array);
    y.dispose();
  }
  const replayed: ReplayedLayer[] = [];
  for (let i = leaves.length - 1; i >= 0; i--) {
    const [name, layer] = leaves[i];
    const record = records[i];
    const dy = Tensor.fromArray(record.gradOutput.data, record.gradOutput.shape, { backend });
    const dx = layer.backward(dy, { inputGrad: i > 0 });
    dy.dispose();
    const paramGrads = new Map<string, Float32Array>();
    for (const [pname, p] of layer.namedParameters(`${name}.`)) paramGrads.set(pname, (await p.grad!.toArray()) as Float32Array);
    replayed.unshift({ record, output: outputs[i], gradInput: dx ? ((await dx.toArray()) as Float32Array) : null, paramGrads });
    dx?.dispose();
  }
  return replayed;
}
