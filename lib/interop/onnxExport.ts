/**
 * ONNX export of a model's inference graph (opset 17, IR version 8), for onnxruntime-node,
 * onnxruntime-web and every other ONNX runtime.
 *
 * Each layer becomes the standard ONNX operator with the same meaning: Conv2d is Conv (groups as
 * `group`, asymmetric padding such as TensorFlow's SAME as explicit `pads`), ReLU is Relu,
 * LocalResponseNorm is LRN (ONNX, like PyTorch and our layer, divides alpha by size, so the
 * constants carry over unchanged), MaxPool2d is MaxPool, Flatten is Flatten, Linear is Gemm with
 * transB (PyTorch's [out, in] weights as they are). Dropout is the identity at inference and is
 * left out. AdaptiveAvgPool2d is exported only where it is exact as a fixed window: the identity
 * when the input already has the output size (torchvision at 224x224: 6x6 features), AveragePool
 * when the input size is a multiple of it; otherwise the export fails with an error saying so.
 *
 * Parameters become initializers under their PyTorch names ('features.0.weight', ...); the batch
 * dimension is symbolic ('N') unless a batch size is given; the model's configuration, class names
 * and preprocessing go into the model's metadata_props under the checkpoint's keys.
 * @module
 */
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import * as path from 'node:path';

import { packageRoot } from '../backend/packageRoot';
import { METADATA_KEYS } from '../checkpoint/format';
import { writeFileAtomic } from '../io/fileWriter';
import { ProtoMessage } from '../io/protobuf';
import { AlexNet } from '../models/alexnet';
import { ReLU } from '../nn/activation';
import { Conv2d } from '../nn/conv2d';
import { Dropout } from '../nn/dropout';
import { Flatten } from '../nn/flatten';
import { Linear } from '../nn/linear';
import { LocalResponseNorm } from '../nn/lrn';
import { Module, type Parameter } from '../nn/module';
import { AdaptiveAvgPool2d, MaxPool2d } from '../nn/pool2d';
import { Sequential } from '../nn/sequential';
import { poolGeometry } from '../ops/pool2d';
import { describe, options as checkOptions, positiveInt } from '../validate';

/** The ONNX operator set the export targets. */
export const ONNX_OPSET = 17;
/** The ONNX IR version that goes with {@link ONNX_OPSET} (ONNX 1.12). */
const IR_VERSION = 8;
const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTRIBUTE = { FLOAT: 1, INT: 2, INTS: 7 } as const;
/** protobuf cannot encode a message of 2 GiB or more; larger models would need ONNX's external data. */
const MAX_MODEL_BYTES = 2 ** 31 - 1;

/** Options of {@link exportOnnx} and {@link encodeOnnx}. */
export interface OnnxExportOptions {
  /** A fixed batch size; default: symbolic ('N'), any batch size. */
  batchSize?: number;
  /** [channels, height, width] of one input; needed for a model that is not an {@link AlexNet}. */
  inputShape?: readonly [number, number, number];
}

type Attribute = { name: string; type: 'int' | 'float' | 'ints'; value: number | readonly number[] };

interface Node {
  op: string;
  name: string;
  inputs: string[];
  output: string;
  attributes: Attribute[];
}

/** What the walk over the modules collects. */
interface Graph {
  nodes: Node[];
  initializers: [string, Parameter][];
}

const ints = (name: string, value: readonly number[]): Attribute => ({ name, type: 'ints', value });
const int = (name: string, value: number): Attribute => ({ name, type: 'int', value });
const float = (name: string, value: number): Attribute => ({ name, type: 'float', value });

/** Adds `module`'s nodes for an input named `input` of shape `shape`; returns the output's name and shape. */
function emit(module: Module, where: string, input: string, shape: number[], graph: Graph): [string, number[]] {
  const out = module.outputShape(shape);
  const node = (op: string, inputs: string[], attributes: Attribute[] = []): [string, number[]] => {
    graph.nodes.push({ op, name: where, inputs, output: where, attributes });
    return [where, out];
  };
  const param = (p: Parameter | null): string[] => {
    if (!p) return [];
    const name = `${where}.${p.name}`;
    graph.initializers.push([name, p]);
    return [name];
  };
  if (module instanceof Sequential) {
    let current: [string, number[]] = [input, shape];
    for (const [name, child] of module.children()) current = emit(child, where ? `${where}.${name}` : name, current[0], current[1], graph);
    return current;
  }
  if (module instanceof Conv2d) {
    const p = module.paddingFor(shape[2]!, shape[3]!);
    return node(
      'Conv',
      [input, ...param(module.weight), ...param(module.bias)],
      [
        ints('kernel_shape', module.kernelSize),
        ints('strides', module.stride),
        ints('pads', [p.top, p.left, p.bottom, p.right]),
        ints('dilations', [1, 1]),
        int('group', module.groups),
      ],
    );
  }
  if (module instanceof ReLU) return node('Relu', [input]);
  if (module instanceof LocalResponseNorm) {
    const { size, alpha, beta, k } = module.params;
    return node('LRN', [input], [int('size', size), float('alpha', alpha), float('beta', beta), float('bias', k)]);
  }
  if (module instanceof MaxPool2d) {
    const g = poolGeometry(module.options);
    return node(
      'MaxPool',
      [input],
      [
        ints('kernel_shape', [g.kernelH, g.kernelW]),
        ints('strides', [g.strideH, g.strideW]),
        ints('pads', [g.padH, g.padW, g.padH, g.padW]),
        int('ceil_mode', 0),
      ],
    );
  }
  if (module instanceof AdaptiveAvgPool2d) {
    const [h, w] = [shape[2]!, shape[3]!];
    const [oh, ow] = module.outputSize;
    if (h === oh && w === ow) return [input, out];
    if (h % oh === 0 && w % ow === 0) {
      return node(
        'AveragePool',
        [input],
        [ints('kernel_shape', [h / oh, w / ow]), ints('strides', [h / oh, w / ow]), ints('pads', [0, 0, 0, 0])],
      );
    }
    throw new RangeError(
      `${where}: adaptive average pooling of ${h}x${w} features to ${oh}x${ow} has unequal windows, which ONNX's AveragePool cannot express; ` +
        `export a model whose features are ${oh}x${ow} or a multiple (the torchvision preset at inputSize 224 is exact)`,
    );
  }
  if (module instanceof Flatten) return node('Flatten', [input], [int('axis', 1)]);
  if (module instanceof Linear) {
    return node('Gemm', [input, ...param(module.weight), ...param(module.bias)], [float('alpha', 1), float('beta', 1), int('transB', 1)]);
  }
  if (module instanceof Dropout) return [input, out];
  throw new TypeError(`${where || 'model'}: a ${module.kind} layer has no ONNX export`);
}

function valueInfo(name: string, dims: readonly (number | string)[]): ProtoMessage {
  const shape = new ProtoMessage();
  for (const d of dims) shape.message(1, typeof d === 'number' ? new ProtoMessage().int(1, d) : new ProtoMessage().string(2, d));
  const tensorType = new ProtoMessage().int(1, FLOAT).message(2, shape);
  return new ProtoMessage().string(1, name).message(2, new ProtoMessage().message(1, tensorType));
}

function attribute(a: Attribute): ProtoMessage {
  const m = new ProtoMessage().string(1, a.name);
  if (a.type === 'float') m.float(2, a.value as number);
  else if (a.type === 'int') m.int(3, a.value as number);
  else m.ints(8, a.value as number[]);
  return m.int(20, a.type === 'float' ? ATTRIBUTE.FLOAT : a.type === 'int' ? ATTRIBUTE.INT : ATTRIBUTE.INTS);
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/**
 * The ONNX model (protobuf bytes) of `model`'s inference graph; see {@link exportOnnx}. Throws a
 * TypeError for a layer without an ONNX equivalent and a RangeError for adaptive pooling that is
 * not a fixed window at this input size, or a model of 2 GiB or more. The bytes are a Node Buffer at
 * run time, typed as Uint8Array so that the typings need no @types/node.
 */
export async function encodeOnnx(model: Module, options: OnnxExportOptions = {}): Promise<Uint8Array> {
  if (!(model instanceof Module)) throw new TypeError(`model must be a Module (such as an AlexNet), got ${describe(model)}`);
  checkOptions(options, ['batchSize', 'inputShape'], 'exportOnnx: options');
  if (endianness() !== 'LE') throw new Error('ONNX export writes little-endian raw tensor data and needs a little-endian machine');
  const batch = options.batchSize === undefined ? undefined : positiveInt(options.batchSize, 'batchSize');
  const alexnet = model instanceof AlexNet ? model : null;
  const item =
    options.inputShape ?? (alexnet ? [alexnet.config.inChannels, alexnet.config.inputSize, alexnet.config.inputSize] : undefined);
  if (!item) throw new TypeError('options.inputShape ([channels, height, width]) is needed for a model that is not an AlexNet');
  if (item.length !== 3 || !item.every((d) => Number.isSafeInteger(d) && d > 0)) {
    throw new RangeError(`inputShape must be three positive integers [channels, height, width], got ${JSON.stringify(item)}`);
  }
  const graph: Graph = { nodes: [], initializers: [] };
  const root = alexnet ? alexnet.network : model;
  const [last, outShape] = emit(root, '', 'input', [1, ...item], graph);
  if (graph.nodes.length === 0 || graph.nodes[graph.nodes.length - 1]!.output !== last)
    throw new TypeError('the model computes nothing to export');
  graph.nodes[graph.nodes.length - 1]!.output = 'logits';
  const batchDim: number | string = batch ?? 'N';

  const g = new ProtoMessage();
  for (const n of graph.nodes) {
    const m = new ProtoMessage();
    for (const i of n.inputs) m.string(1, i);
    m.string(2, n.output)
      .string(3, n.name || n.op)
      .string(4, n.op);
    for (const a of n.attributes) m.message(5, attribute(a));
    g.message(1, m);
  }
  g.string(2, alexnet ? `alexnet-${alexnet.config.preset}` : model.kind);
  for (const [name, p] of graph.initializers) {
    const data = (await p.value.toArray()) as Float32Array;
    const t = new ProtoMessage().ints(1, p.value.shape).int(2, FLOAT).string(8, name);
    t.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    g.message(5, t);
  }
  g.message(11, valueInfo('input', [batchDim, ...item]));
  g.message(12, valueInfo('logits', [batchDim, ...outShape.slice(1)]));

  const onnx = new ProtoMessage()
    .int(1, IR_VERSION)
    .string(2, 'alexnet-cuda')
    .string(3, packageVersion())
    .message(7, g)
    .message(8, new ProtoMessage().string(1, '').int(2, ONNX_OPSET));
  if (alexnet) {
    const meta: [string, string | null][] = [
      [METADATA_KEYS.config, JSON.stringify(alexnet.config)],
      [METADATA_KEYS.classes, alexnet.classes ? JSON.stringify(alexnet.classes) : null],
      [METADATA_KEYS.preprocessing, alexnet.preprocessing ? JSON.stringify(alexnet.preprocessing) : null],
    ];
    for (const [key, value] of meta) if (value !== null) onnx.message(14, new ProtoMessage().string(1, key).string(2, value));
  }
  if (onnx.length > MAX_MODEL_BYTES) {
    throw new RangeError(
      `the ONNX model would be ${onnx.length} bytes; protobuf files must stay under 2 GiB (external data is not supported)`,
    );
  }
  return onnx.toBuffer();
}

/**
 * Writes `model`'s inference graph to `file` as an ONNX model (opset {@link ONNX_OPSET}; input
 * 'input' [N, C, H, W] float32, output 'logits' [N, classes]), atomically. See
 * {@link encodeOnnx} for the errors.
 */
export async function exportOnnx(model: Module, file: string, options: OnnxExportOptions = {}): Promise<void> {
  if (typeof file !== 'string' || file.length === 0) throw new TypeError(`file must be a path, got ${describe(file)}`);
  await writeFileAtomic(file, await encodeOnnx(model, options));
}
