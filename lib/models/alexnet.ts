/**
 * AlexNet, in the variants people actually train:
 *
 * | preset | what it is | input | widths | parameters (1000 classes) |
 * |---|---|---|---|---|
 * | `paper` | Krizhevsky et al. 2012: groups = 2 on conv2/4/5, LRN (n 5, alpha 1e-4, beta 0.75, k 2) after conv1 and conv2, overlapping 3/2 pooling, dropout 0.5 after fc6 and fc7 | 3x227x227 | 96-256-384-384-256, 4096-4096 | 60,965,224 |
 * | `seed-tf` | the TensorFlow code of the Chinese AlexNet tutorial this project grew from: conv2, conv4 and conv5 split input and kernels into 2 groups, SAME padding on every convolution (stride-4 conv1 pads 3 top/left and 4 bottom/right), VALID 3/2 pooling, LRN with the seed's constants (depth_radius 2, alpha 1e-4, beta 0.75, bias 2), dropout after fc6 and fc7 | 3x224x224 | 96-256-384-384-256, 4096-4096 | 60,965,224 |
 * | `torchvision` | torchvision.models.alexnet: no LRN, adaptive average pooling to 6x6, dropout before fc6 and fc7; parameter names match torchvision's state_dict | 3x224x224 | 64-192-384-256-256, 4096-4096 | 61,100,840 |
 * | `keras-v1` | the seed tutorial's Keras AlexNet_v1: ZeroPadding2D((1, 2), (1, 2)), 'same' convolutions, dropout 0.2 before each hidden dense layer | 3x224x224 | 48-128-192-192-128, 2048-2048 | 16,630,440 |
 * | `keras-v2` | the same tutorial's AlexNet_v2: as v1 with dense 1024-128 | 3x224x224 | 48-128-192-192-128, 1024-128 | 5,925,672 |
 * | `d2l` | Dive into Deep Learning's Fashion-MNIST model (section 8.1): conv1 stride 4 padding 1, dropout 0.5 | 1x224x224, 10 classes | 96-256-384-384-256, 4096-4096 | 46,764,746 (10 classes) |
 *
 * Every preset takes `numClasses`, `inChannels`, `inputSize` and a `width` multiplier (for reduced
 * models in tests and quick experiments). TensorFlow and Keras flatten NHWC activations in HWC
 * order and we in CHW order: the same network with fc6's input rows permuted, which only matters
 * when importing their weights (not supported). The Keras models end in a Softmax layer; here the
 * model returns logits, and the softmax is part of the loss and of `predict`.
 * @module
 */
import { getBackend, type Backend, type BackendChoice } from '../backend/backend';
import { oneOf, options as checkOptions, positiveInt } from '../validate';
import { ReLU } from '../nn/activation';
import { Conv2d, type Conv2dConfig } from '../nn/conv2d';
import { Dropout } from '../nn/dropout';
import { FlatParameters } from '../nn/flatParameters';
import { Flatten } from '../nn/flatten';
import { Linear } from '../nn/linear';
import { LocalResponseNorm } from '../nn/lrn';
import { Module, type BackwardOptions, type Parameter } from '../nn/module';
import { AdaptiveAvgPool2d, MaxPool2d } from '../nn/pool2d';
import { Sequential } from '../nn/sequential';
import { deriveSeed, nextSeed } from '../random';
import { seedValue } from '../validate';
import { checkTensor, Tensor, type Seed } from '../tensor';
import { describe } from '../validate';
import type { TransformSpec } from '../data/transforms/transform';
import { initialize, initializeLayer, INIT_SCHEMES, weightedLayers, type InitScheme } from './init';
import { assertModelIdle } from './modelUse';
import { summarize, type ModelSummary } from './summary';

/**
 * The AlexNet variants {@link createAlexNet} builds:
 * - `paper`: Krizhevsky et al. 2012 (groups 2, LRN, 3x227x227 input);
 * - `seed-tf`: the seed tutorial's TensorFlow code (groups of 2 on conv2/4/5, SAME padding, LRN);
 * - `torchvision`: torchvision.models.alexnet, with its parameter names (the default);
 * - `keras-v1`, `keras-v2`: the Keras tutorial's half-width models (dense 2048-2048 or 1024-128);
 * - `d2l`: Dive into Deep Learning's Fashion-MNIST model (1x224x224, 10 classes).
 */
export type PresetName = 'paper' | 'seed-tf' | 'torchvision' | 'keras-v1' | 'keras-v2' | 'd2l';

/** Every {@link PresetName} (for validation and command-line choices). */
export const PRESETS: readonly PresetName[] = ['paper', 'seed-tf', 'torchvision', 'keras-v1', 'keras-v2', 'd2l'];

/** Options for {@link createAlexNet}. */
export interface AlexNetOptions {
  /** Which AlexNet; default 'torchvision'. */
  preset?: PresetName;
  /** Output classes; default 1000 (10 for d2l). */
  numClasses?: number;
  /** Input channels; default 3 (1 for d2l). */
  inChannels?: number;
  /** Input height and width; default 227 for paper, 224 otherwise. */
  inputSize?: number;
  /** Multiplies every channel count and hidden width (rounded, at least the group count); default 1. */
  width?: number;
  /** Initialization; default 'paper' for paper, 'kaiming' for seed-tf, 'keras' for keras-v1/v2, 'xavier' for d2l, 'pytorch' for torchvision. */
  init?: InitScheme;
  /** Seed for initialization and dropout masks; default: the next process-wide seed. */
  seed?: Seed;
  /** Where the parameters live (default: the process default, see {@link setDefaultBackend}). */
  backend?: Backend | BackendChoice;
}

/** The resolved configuration; stored in checkpoints so a model can be rebuilt. */
export interface AlexNetConfig {
  /** Which AlexNet. */
  preset: PresetName;
  /** Output classes (logits per image). */
  numClasses: number;
  /** Input channels (3 for RGB, 1 for grey). */
  inChannels: number;
  /** Input height and width; the model takes [N, inChannels, inputSize, inputSize]. */
  inputSize: number;
  /** Channel and hidden-width multiplier (1 for the published sizes). */
  width: number;
  /** The initialization the parameters were drawn with. */
  init: InitScheme;
  /** The seed of initialization and dropout, as a decimal string (JSON cannot hold a bigint). */
  seed: string;
}

const PAPER_LRN = { size: 5, alpha: 1e-4, beta: 0.75, k: 2 };

/**
 * Each preset's initialization unless told otherwise: what its source uses (the Keras models use
 * Keras' defaults), except seed-tf. The seed's own `truncated-normal` (stddev 0.1 at every layer)
 * grows activations about tenfold per layer at AlexNet's fan-ins: a full-size model starts with
 * logits near 3e4 and SGD at lr 0.01 diverges to NaN within five steps. PyTorch's default keeps
 * the signal so small that the loss does not move in 60 steps; Kaiming's (He normal, zero biases
 * like the seed's) trains: 2.81 to 1.32 in 60 steps. Measured with
 * `npx tsx scripts/compare-inits.ts --steps 60` (Fashion-MNIST, batch 16, SGD lr 0.01, momentum 0.9).
 */
const DEFAULT_INIT: Record<PresetName, InitScheme> = {
  paper: 'paper',
  'seed-tf': 'kaiming',
  torchvision: 'pytorch',
  'keras-v1': 'keras',
  'keras-v2': 'keras',
  d2l: 'xavier',
};

interface Builder {
  conv(out: number, kernel: number, extra?: Partial<Conv2dConfig>): Conv2d;
  linear(inFeatures: number, out: number): Linear;
  dropout(p: number): Dropout;
  /** A width-scaled channel count, a multiple of `groups` (that of the convolution it feeds or is). */
  ch(c: number, groups?: number): number;
}

/** A classifier head: hidden layers with ReLU, dropout before or after each, then the output layer. */
function head(b: Builder, inFeatures: number, hidden: number[], classes: number, p: number, dropoutFirst: boolean): Sequential {
  const layers: Module[] = [];
  let features = inFeatures;
  for (const h of hidden) {
    if (dropoutFirst) layers.push(b.dropout(p));
    layers.push(b.linear(features, h), new ReLU());
    if (!dropoutFirst) layers.push(b.dropout(p));
    features = h;
  }
  layers.push(b.linear(features, classes));
  return new Sequential(...layers);
}

function buildFeatures(preset: PresetName, b: Builder, inChannels: number): Sequential {
  const pool = () => new MaxPool2d({ kernelSize: 3, stride: 2 });
  const lrn = () => LocalResponseNorm.fromPaper(PAPER_LRN);
  switch (preset) {
    case 'paper': {
      const c = [b.ch(96, 2), b.ch(256, 2), b.ch(384, 2), b.ch(384, 2), b.ch(256, 2)];
      return new Sequential(
        b.conv(c[0]!, 11, { inChannels, stride: 4 }),
        new ReLU(),
        lrn(),
        pool(),
        b.conv(c[1]!, 5, { inChannels: c[0]!, padding: 2, groups: 2 }),
        new ReLU(),
        lrn(),
        pool(),
        b.conv(c[2]!, 3, { inChannels: c[1]!, padding: 1 }),
        new ReLU(),
        b.conv(c[3]!, 3, { inChannels: c[2]!, padding: 1, groups: 2 }),
        new ReLU(),
        b.conv(c[4]!, 3, { inChannels: c[3]!, padding: 1, groups: 2 }),
        new ReLU(),
        pool(),
      );
    }
    case 'seed-tf': {
      // The seed's tf.split of input and kernel into two halves on conv2, conv4 and conv5 is a grouped convolution.
      const c = [b.ch(96, 2), b.ch(256, 2), b.ch(384, 2), b.ch(384, 2), b.ch(256, 2)];
      return new Sequential(
        b.conv(c[0]!, 11, { inChannels, stride: 4, padding: 'same' }),
        new ReLU(),
        lrn(),
        pool(),
        b.conv(c[1]!, 5, { inChannels: c[0]!, padding: 'same', groups: 2 }),
        new ReLU(),
        lrn(),
        pool(),
        b.conv(c[2]!, 3, { inChannels: c[1]!, padding: 'same' }),
        new ReLU(),
        b.conv(c[3]!, 3, { inChannels: c[2]!, padding: 'same', groups: 2 }),
        new ReLU(),
        b.conv(c[4]!, 3, { inChannels: c[3]!, padding: 'same', groups: 2 }),
        new ReLU(),
        pool(),
      );
    }
    case 'torchvision': {
      const c = [b.ch(64), b.ch(192), b.ch(384), b.ch(256), b.ch(256)];
      return new Sequential(
        b.conv(c[0]!, 11, { inChannels, stride: 4, padding: 2 }),
        new ReLU(),
        pool(),
        b.conv(c[1]!, 5, { inChannels: c[0]!, padding: 2 }),
        new ReLU(),
        pool(),
        b.conv(c[2]!, 3, { inChannels: c[1]!, padding: 1 }),
        new ReLU(),
        b.conv(c[3]!, 3, { inChannels: c[2]!, padding: 1 }),
        new ReLU(),
        b.conv(c[4]!, 3, { inChannels: c[3]!, padding: 1 }),
        new ReLU(),
        pool(),
      );
    }
    case 'keras-v1':
    case 'keras-v2': {
      const c = [b.ch(48), b.ch(128), b.ch(192), b.ch(192), b.ch(128)];
      return new Sequential(
        b.conv(c[0]!, 11, { inChannels, stride: 4, padding: { top: 1, bottom: 2, left: 1, right: 2 } }),
        new ReLU(),
        pool(),
        b.conv(c[1]!, 5, { inChannels: c[0]!, padding: 'same' }),
        new ReLU(),
        pool(),
        b.conv(c[2]!, 3, { inChannels: c[1]!, padding: 'same' }),
        new ReLU(),
        b.conv(c[3]!, 3, { inChannels: c[2]!, padding: 'same' }),
        new ReLU(),
        b.conv(c[4]!, 3, { inChannels: c[3]!, padding: 'same' }),
        new ReLU(),
        pool(),
      );
    }
    case 'd2l': {
      const c = [b.ch(96), b.ch(256), b.ch(384), b.ch(384), b.ch(256)];
      return new Sequential(
        b.conv(c[0]!, 11, { inChannels, stride: 4, padding: 1 }),
        new ReLU(),
        pool(),
        b.conv(c[1]!, 5, { inChannels: c[0]!, padding: 2 }),
        new ReLU(),
        pool(),
        b.conv(c[2]!, 3, { inChannels: c[1]!, padding: 1 }),
        new ReLU(),
        b.conv(c[3]!, 3, { inChannels: c[2]!, padding: 1 }),
        new ReLU(),
        b.conv(c[4]!, 3, { inChannels: c[3]!, padding: 1 }),
        new ReLU(),
        pool(),
      );
    }
  }
}

function buildClassifier(preset: PresetName, b: Builder, inFeatures: number, classes: number): Sequential {
  switch (preset) {
    case 'paper':
    case 'seed-tf':
    case 'd2l':
      return head(b, inFeatures, [b.ch(4096), b.ch(4096)], classes, 0.5, false);
    case 'torchvision':
      return head(b, inFeatures, [b.ch(4096), b.ch(4096)], classes, 0.5, true);
    case 'keras-v1':
      return head(b, inFeatures, [b.ch(2048), b.ch(2048)], classes, 0.2, true);
    case 'keras-v2':
      return head(b, inFeatures, [b.ch(1024), b.ch(128)], classes, 0.2, true);
  }
}

/** Resolves defaults and checks every option, naming the bad one. */
export function resolveConfig(options: AlexNetOptions = {}): AlexNetConfig {
  if (options === null || typeof options !== 'object') throw new TypeError('AlexNet options must be an object');
  checkOptions(options, ['preset', 'numClasses', 'inChannels', 'inputSize', 'width', 'init', 'seed', 'backend'], 'AlexNet options');
  const preset = oneOf(options.preset ?? 'torchvision', PRESETS, 'preset');
  const d2l = preset === 'd2l';
  const width = options.width ?? 1;
  if (typeof width !== 'number') throw new TypeError(`width must be a number in (0, 16], got ${describe(width)}`);
  if (!(width > 0) || width > 16) throw new RangeError(`width must be a number in (0, 16], got ${width}`);
  const init = oneOf(options.init ?? DEFAULT_INIT[preset], INIT_SCHEMES, 'init');
  return {
    preset,
    numClasses: positiveInt(options.numClasses ?? (d2l ? 10 : 1000), 'numClasses'),
    inChannels: positiveInt(options.inChannels ?? (d2l ? 1 : 3), 'inChannels'),
    inputSize: positiveInt(options.inputSize ?? (preset === 'paper' ? 227 : 224), 'inputSize'),
    width,
    init,
    seed: seedValue(options.seed ?? nextSeed(), 'seed').toString(),
  };
}

/**
 * The features' output shape for one square input, or, when the input is too small for the network,
 * a RangeError naming inputSize and the smallest size that works (after disposing the features).
 */
function featureShape(features: Sequential, preset: PresetName, inChannels: number, inputSize: number): number[] {
  const shapeFor = (size: number) => features.outputShape([1, inChannels, size, size]);
  try {
    return shapeFor(inputSize);
  } catch (error) {
    features.dispose();
    if (!(error instanceof RangeError)) throw error;
    let smallest = inputSize + 1;
    for (; smallest < 4096; smallest++) {
      try {
        shapeFor(smallest);
        break;
      } catch {
        // still too small
      }
    }
    throw new RangeError(
      `inputSize ${inputSize} is too small for the ${preset} preset, which needs at least ${smallest} (${error.message})`,
    );
  }
}

/** An AlexNet: `features` (convolutions), then for torchvision `avgpool`, then `flatten` and `classifier`. */
export class AlexNet extends Module {
  #config: AlexNetConfig;
  /** The layers: a Sequential of `features`, (`avgpool`,) `flatten` and `classifier`. */
  readonly network: Sequential;
  /** Class names by output index; checkpoints store them (set by the Trainer and by loadModel). */
  classes: readonly string[] | null = null;
  /** The preprocessing evaluation applies to an image; checkpoints store it and `predict(model, ...)` uses it. */
  preprocessing: readonly TransformSpec[] | null = null;
  /** Whether a training-mode forward still waits for its backward. */
  #awaitingBackward = false;
  #flat: FlatParameters;

  constructor(options: AlexNetOptions = {}) {
    super();
    this.#config = resolveConfig(options);
    const { preset, inChannels, inputSize, numClasses, width } = this.config;
    const backend = getBackend(options.backend);
    const seed = BigInt(this.config.seed);
    let dropouts = 0;
    const b: Builder = {
      ch: (c, groups = 1) => Math.max(groups, Math.round((c * width) / groups) * groups),
      conv: (out, kernel, extra) =>
        new Conv2d({ inChannels: extra!.inChannels!, outChannels: out, kernelSize: kernel, backend, seed: 0, ...extra }),
      linear: (inFeatures, out) => new Linear({ inFeatures, outFeatures: out, backend, seed: 0 }),
      dropout: (p) => new Dropout(p, { seed: deriveSeed(seed, 1000 + dropouts++) }),
    };
    const features = buildFeatures(preset, b, inChannels);
    const entries: [string, Module][] = [['features', features]];
    let shape = featureShape(features, preset, inChannels, inputSize);
    if (preset === 'torchvision') {
      const avgpool = new AdaptiveAvgPool2d(6);
      entries.push(['avgpool', avgpool]);
      shape = avgpool.outputShape(shape);
    }
    const flatten = new Flatten();
    entries.push(['flatten', flatten]);
    const flat = flatten.outputShape(shape)[1]!;
    entries.push(['classifier', buildClassifier(preset, b, flat, numClasses)]);
    this.network = new Sequential(...entries);
    initialize(this.network, this.config.init, seed);
    this.#flat = FlatParameters.adopt(this.network.namedParameters().map(([, p]) => p));
  }

  /** The resolved options it was built from (stored in checkpoints); {@link AlexNet.replaceHead} changes numClasses. */
  get config(): AlexNetConfig {
    return this.#config;
  }

  /**
   * The flat buffers every parameter's value and gradient are views of (lib/nn/flatParameters.ts):
   * one pass of SGD updates them all, and a captured training step finds them at fixed addresses.
   * {@link AlexNet.replaceHead} replaces them (with the parameters they hold).
   */
  get flat(): FlatParameters {
    return this.#flat;
  }

  /**
   * Replaces the classifier's output layer with a new Linear for `numClasses` classes, drawn with
   * the model's initialization scheme (`config.init`) exactly as a model built with that class
   * count and `options.seed` would have drawn its head; for fine-tuning pretrained weights on a
   * new set of classes. `config.numClasses` becomes `numClasses` and `classes` becomes
   * `options.classes` (or null). The new layer is trainable, whatever was frozen before; other
   * parameters keep their values and flags. The flat parameter buffers are rebuilt, so optimizers
   * built for the old ones must not be used again (Trainer.fit builds its own each call).
   * Throws a TypeError or RangeError naming a bad argument, and a ModelBusyError while the model
   * trains, evaluates or predicts. Returns the new layer.
   */
  replaceHead(numClasses: number, options: ReplaceHeadOptions = {}): Linear {
    assertModelIdle(this, 'replaceHead');
    if (options === null || typeof options !== 'object')
      throw new TypeError(`replaceHead: options must be an object, got ${describe(options)}`);
    checkOptions(options, ['seed', 'classes'], 'replaceHead options');
    positiveInt(numClasses, 'replaceHead: numClasses');
    const classes = options.classes ?? null;
    if (classes !== null) {
      if (!Array.isArray(classes) || !classes.every((c) => typeof c === 'string')) {
        throw new TypeError(`replaceHead: classes must be an array of class names, got ${describe(classes)}`);
      }
      if (classes.length !== numClasses) throw new RangeError(`replaceHead: classes has ${classes.length} names for ${numClasses} classes`);
    }
    const seed = seedValue(options.seed ?? nextSeed(), 'replaceHead: seed');
    const classifier = this.network.get('classifier');
    const entries = classifier instanceof Sequential ? classifier.children() : [];
    const [headName, old] = entries[entries.length - 1] ?? [];
    if (!(classifier instanceof Sequential) || !(old instanceof Linear) || headName === undefined) {
      throw new TypeError('replaceHead: the model has no classifier ending in a Linear layer');
    }
    const index = weightedLayers(this.network).indexOf(old);
    const head = new Linear({
      inFeatures: old.inFeatures,
      outFeatures: numClasses,
      bias: old.bias !== null,
      backend: this.backend,
      seed: 0,
    });
    try {
      initializeLayer(head, this.#config.init, seed, index, false); // an output layer: the paper scheme's bias 0
    } catch (error) {
      head.dispose();
      throw error;
    }
    this.clearSaved();
    // The parameters leave the old buffers, the head is swapped, and the new list is adopted.
    this.#flat.release();
    classifier.replace(headName, head);
    old.dispose();
    this.#flat = FlatParameters.adopt(this.network.namedParameters().map(([, p]) => p));
    this.#config = { ...this.#config, numClasses };
    this.classes = classes ? [...classes] : null;
    return head;
  }

  /**
   * Layers, output shapes, parameters (trainable and frozen) and forward FLOPs for a batch of
   * `batch` images (default 1), as torchinfo prints them: `summary().text` is the table. FLOPs
   * count a multiply-add as 2 (see models/summary).
   */
  summary(batch = 1): ModelSummary {
    positiveInt(batch, 'summary: batch');
    const { inChannels, inputSize } = this.#config;
    return summarize(this.network, [batch, inChannels, inputSize, inputSize]);
  }

  /** Frees the parameters, their flat buffers and anything kept for backward. */
  override dispose(): void {
    super.dispose();
    this.#flat.dispose();
  }

  override children(): [string, Module][] {
    return this.network.children();
  }

  override outputShape(inputShape: readonly number[]): number[] {
    return this.network.outputShape(inputShape);
  }

  /**
   * Logits [N, numClasses] for a float32 batch [N, inChannels, inputSize, inputSize]; the caller
   * disposes the result. Throws a RangeError for any other shape.
   *
   * One step at a time: in training mode the layers keep what backward needs, so a training-mode
   * forward must be followed by {@link AlexNet.backward} (or {@link AlexNet.clearSaved}) before
   * the next one; a second training-mode forward before that throws an Error instead of mixing
   * the two steps' activations. Evaluation-mode forwards (and `predict`) may come in between.
   */
  override forward(input: Tensor): Tensor<'float32'> {
    checkTensor(input, 'AlexNet: input');
    const expected = [this.config.inChannels, this.config.inputSize, this.config.inputSize];
    if (input.shape.length !== 4 || input.shape.slice(1).join(',') !== expected.join(',')) {
      throw new RangeError(
        `AlexNet (${this.config.preset}): input must have shape [N, ${expected.join(', ')}], got [${input.shape.join(', ')}]`,
      );
    }
    if (this.training && this.#awaitingBackward) {
      throw new Error(
        'AlexNet.forward: the previous training-mode forward still waits for its backward, and a second one would mix ' +
          "the two steps' saved activations; call backward (or clearSaved()) first, or use eval mode or predict() for inference",
      );
    }
    // The network (a Sequential, typed for any child modules) is AlexNet's own layers here, whose
    // first convolution takes float32 only and whose every output is float32.
    const output = this.network.forward(input) as Tensor<'float32'>;
    if (this.training) this.#awaitingBackward = true;
    return output;
  }

  /**
   * Backpropagates the gradient of the logits [N, numClasses], setting every parameter's `grad`.
   * Returns null unless `inputGrad` is true (unlike other modules, the default here is false).
   */
  override backward(gradOutput: Tensor, options: BackwardOptions = {}): Tensor<'float32'> | null {
    this.#awaitingBackward = false;
    // Float32 for the same reason as forward's output: the gradient of the first convolution's input.
    return this.network.backward(gradOutput, { inputGrad: options.inputGrad ?? false }) as Tensor<'float32'> | null;
  }

  /** Drops what the last training-mode forward kept for backward (the next one may then start). */
  override clearSaved(): void {
    this.#awaitingBackward = false;
    super.clearSaved();
  }

  /** Every layer's output shape for a batch, as [name, shape] pairs (for summaries and tests). */
  layerShapes(batch = 1): [string, number[]][] {
    const out: [string, number[]][] = [];
    let shape = [batch, this.config.inChannels, this.config.inputSize, this.config.inputSize];
    for (const [name, child] of this.network.children()) {
      const nested = child instanceof Sequential ? child.children() : [['', child] as [string, Module]];
      for (const [sub, layer] of nested) {
        shape = layer.outputShape(shape);
        out.push([sub ? `${name}.${sub}` : name, shape]);
      }
    }
    return out;
  }

  /** Parameters with PyTorch-style names ('features.0.weight', ...). */
  override namedParameters(prefix = ''): [string, Parameter][] {
    return this.network.namedParameters(prefix);
  }

  /** The backend holding the model. */
  override get backend(): Backend {
    return this.namedParameters()[0]![1].value.backend;
  }
}

/** Options of {@link AlexNet.replaceHead}. */
export interface ReplaceHeadOptions {
  /** Seed of the new layer's initialization; default: the next process-wide seed. */
  seed?: Seed;
  /** Class names by output index (as many as the classes); default none. */
  classes?: readonly string[];
}

/** Builds an AlexNet preset. */
export function createAlexNet(options: AlexNetOptions = {}): AlexNet {
  return new AlexNet(options);
}
