/**
 * A model summary in the manner of torchinfo: every layer with its output shape, its parameters
 * (trainable and frozen) and the FLOPs of its forward pass for a given input, as a structured
 * object and as a table.
 *
 * How FLOPs are counted: a multiply-add is 2 FLOPs; convolutions and fully connected layers count
 * their multiply-adds (output elements times the inputs each one sums: (inChannels / groups) x
 * kernel height x kernel width, or inFeatures) and one addition per output element for the bias.
 * Every other layer (ReLU, pooling, LRN, dropout, flatten) is counted as 0 FLOPs: they are
 * memory-bound and together well under 1% of AlexNet's arithmetic. `multiplyAdds` gives the
 * multiply-adds alone (what torchvision's and torchinfo's "GFLOPS"/"mult-adds" columns report:
 * 0.71 G for torchvision's AlexNet at 224x224).
 * @module
 */
import { Conv2d } from '../nn/conv2d';
import { Linear } from '../nn/linear';
import type { Module } from '../nn/module';
import { checkShape } from '../tensor';

/** One layer of a {@link ModelSummary}. */
export interface LayerSummary {
  /** Dotted path, as parameter names use it ('features.0'). */
  name: string;
  /** The layer's class ('Conv2d', 'ReLU', ...). */
  kind: string;
  /** Its output shape for the summary's input. */
  outputShape: number[];
  /** Parameter scalars (trainable and frozen). */
  parameters: number;
  /** Parameter scalars training updates. */
  trainable: number;
  /** Multiply-adds of its forward pass for the whole batch. */
  multiplyAdds: number;
  /** FLOPs of its forward pass for the whole batch (see the module notes). */
  flops: number;
}

/** What {@link summarize} (and AlexNet.summary) returns. */
export interface ModelSummary {
  /** The input shape the figures are for ([N, C, H, W]). */
  inputShape: number[];
  /** Every leaf layer in forward order. */
  layers: LayerSummary[];
  /** Parameter scalars in all. */
  totalParameters: number;
  /** Parameter scalars training updates. */
  trainableParameters: number;
  /** Frozen parameter scalars (see Module.freeze). */
  frozenParameters: number;
  /** Multiply-adds of one forward pass over the batch. */
  multiplyAdds: number;
  /** FLOPs of one forward pass over the batch (a multiply-add is 2; see the module notes). */
  flops: number;
  /** Bytes the parameters take (float32). */
  parameterBytes: number;
  /** The table, as {@link formatSummary} writes it. */
  text: string;
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The leaf modules of `module` with dotted names (the module itself when it has no children). */
function leaves(module: Module, prefix: string): [string, Module][] {
  const children = module.children();
  if (children.length === 0) return [[prefix, module]];
  return children.flatMap(([name, child]) => leaves(child, prefix ? `${prefix}.${name}` : name));
}

/** Multiply-adds and bias additions of a layer's forward pass producing `outputShape`. */
function arithmetic(layer: Module, outputShape: readonly number[]): { multiplyAdds: number; additions: number } {
  const outputs = product(outputShape);
  if (layer instanceof Conv2d) {
    // The weight is [out, in/groups, kh, kw]: each output sums (in/groups) x kh x kw products.
    const perOutput = product(layer.weight.value.shape.slice(1));
    return { multiplyAdds: outputs * perOutput, additions: layer.bias ? outputs : 0 };
  }
  if (layer instanceof Linear) return { multiplyAdds: outputs * layer.inFeatures, additions: layer.bias ? outputs : 0 };
  return { multiplyAdds: 0, additions: 0 };
}

/**
 * The summary of `module` for an input of `inputShape` (shapes come from outputShape; nothing is
 * computed on the device). Throws the RangeError outputShape throws for an input that does not fit.
 */
export function summarize(module: Module, inputShape: readonly number[]): ModelSummary {
  let shape = checkShape(inputShape, 'inputShape');
  const input = [...shape];
  const layers: LayerSummary[] = [];
  for (const [name, layer] of leaves(module, '')) {
    shape = layer.outputShape(shape);
    const params = layer.namedParameters();
    const parameters = params.reduce((n, [, p]) => n + p.value.size, 0);
    const trainable = params.reduce((n, [, p]) => n + (p.requiresGrad ? p.value.size : 0), 0);
    const { multiplyAdds, additions } = arithmetic(layer, shape);
    layers.push({
      name,
      kind: layer.kind,
      outputShape: [...shape],
      parameters,
      trainable,
      multiplyAdds,
      flops: 2 * multiplyAdds + additions,
    });
  }
  const totalParameters = layers.reduce((n, l) => n + l.parameters, 0);
  const trainableParameters = layers.reduce((n, l) => n + l.trainable, 0);
  const summary: Omit<ModelSummary, 'text'> = {
    inputShape: input,
    layers,
    totalParameters,
    trainableParameters,
    frozenParameters: totalParameters - trainableParameters,
    multiplyAdds: layers.reduce((n, l) => n + l.multiplyAdds, 0),
    flops: layers.reduce((n, l) => n + l.flops, 0),
    parameterBytes: 4 * totalParameters,
  };
  return { ...summary, text: formatSummary(summary) };
}

const count = (n: number) => n.toLocaleString('en-US');

function giga(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} G` : n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : count(n);
}

/** The summary as a table: one row per layer, then the totals. */
export function formatSummary(summary: Omit<ModelSummary, 'text'>): string {
  const header = ['Layer (type)', 'Output shape', 'Param #', 'Trainable', 'FLOPs'];
  const rows = summary.layers.map((l) => [
    `${l.name} (${l.kind})`,
    `[${l.outputShape.join(', ')}]`,
    l.parameters === 0 ? '-' : count(l.parameters),
    l.parameters === 0 ? '-' : l.trainable === l.parameters ? 'yes' : l.trainable === 0 ? 'frozen' : `${count(l.trainable)}`,
    l.flops === 0 ? '-' : giga(l.flops),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const rule = '='.repeat(widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1));
  return [
    rule,
    line(header),
    rule,
    ...rows.map(line),
    rule,
    `Input shape: [${summary.inputShape.join(', ')}]`,
    `Total params: ${count(summary.totalParameters)}`,
    `Trainable params: ${count(summary.trainableParameters)}`,
    `Frozen params: ${count(summary.frozenParameters)}`,
    `Forward FLOPs: ${giga(summary.flops)} (${count(summary.flops)}; a multiply-add is 2 FLOPs, plus bias additions)`,
    `Forward multiply-adds: ${giga(summary.multiplyAdds)} (${count(summary.multiplyAdds)})`,
    `Params size: ${(summary.parameterBytes / 2 ** 20).toFixed(2)} MiB (float32)`,
    rule,
  ].join('\n');
}
