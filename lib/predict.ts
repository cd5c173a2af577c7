/**
 * Inference: class probabilities and top-k labels for images, with the preprocessing evaluation
 * used (stored in the checkpoint with the class names, see {@link AlexNet.preprocessing}).
 * @module
 */
import { decodeImage } from './data/decode';
import { checkImage, type Image } from './data/image';
import { Rng } from './data/rng';
import { Pipeline, type TransformList } from './data/transforms/pipeline';
import type { TransformSpec } from './data/transforms/transform';
import { AlexNet } from './models/alexnet';
import { inEvalMode, useModel } from './models/modelUse';
import { positiveInt } from './validate';
import { softmax } from './ops/activation';
import { checkTensor, Tensor } from './tensor';
import { describe, options as checkOptions } from './validate';

/**
 * What can be predicted: an image file path, encoded image bytes (JPEG, PNG, WebP), a decoded
 * CHW {@link Image} with values in [0, 1], or a Tensor that is already preprocessed
 * ([C, H, W] or [N, C, H, W], on the model's backend).
 */
export type PredictInput = string | Uint8Array | Image | Tensor;

/** One class and its probability. */
export interface ClassScore {
  /** The class name (the index as text when the model has no names). */
  label: string;
  /** The class's output index. */
  index: number;
  /** Its softmax probability. */
  probability: number;
}

/** The prediction for one image: the best class, and the k best in decreasing probability. */
export interface Prediction extends ClassScore {
  /** The k most probable classes, most probable first (the first is this prediction). */
  topk: ClassScore[];
}

/** Options of {@link predict}. */
export interface PredictOptions {
  /** How many classes to return per image (default 5, at most the number of classes). */
  topk?: number;
  /** Images per forward pass (default 64). */
  batchSize?: number;
  /**
   * Preprocessing for paths, bytes and Images (default: the model's stored preprocessing, else a
   * resize to the model's input size). Tensors are taken as already preprocessed.
   */
  preprocessing?: TransformList;
}

/** The preprocessing a model uses when none is given: its stored one, else a resize to its input size. */
export function defaultPreprocessing(model: AlexNet): TransformSpec[] {
  if (model.preprocessing) return [...model.preprocessing];
  const size = model.config.inputSize;
  return [{ kind: 'resize', size: [size, size] }];
}

function topK(probabilities: Float32Array, row: number, classes: number, k: number, names: readonly string[] | null): Prediction {
  const base = row * classes;
  const order = Array.from({ length: classes }, (_, i) => i);
  // Ties go to the lower index, as countTopkCorrect ranks them.
  order.sort((a, b) => probabilities[base + b]! - probabilities[base + a]! || a - b);
  const topk = order
    .slice(0, k)
    .map((index) => ({ label: names?.[index] ?? String(index), index, probability: probabilities[base + index]! }));
  return { ...topk[0]!, topk };
}

/**
 * Predicts the classes of `inputs` (one input or a list) with the model in evaluation mode; the
 * model's own mode is never changed as the caller sees it. Calls on one model run one after
 * another; while the model trains or evaluates, a call is rejected with a ModelBusyError, except
 * from a fit's callbacks (see models/modelUse).
 */
export async function predict(
  model: AlexNet,
  inputs: PredictInput | readonly PredictInput[],
  options: PredictOptions = {},
): Promise<Prediction[]> {
  if (!(model instanceof AlexNet)) throw new TypeError(`model must be an AlexNet, got ${describe(model)}`);
  checkOptions(options, ['topk', 'batchSize', 'preprocessing'], 'predict options');
  return useModel(model, 'predict', () => run(model, inputs, options));
}

async function run(model: AlexNet, inputs: PredictInput | readonly PredictInput[], options: PredictOptions): Promise<Prediction[]> {
  const list = Array.isArray(inputs) ? (inputs as readonly PredictInput[]) : [inputs as PredictInput];
  const classes = model.config.numClasses;
  const k = Math.min(positiveInt(options.topk ?? 5, 'topk'), classes);
  const batchSize = positiveInt(options.batchSize ?? 64, 'batchSize');
  const pipeline = new Pipeline(options.preprocessing ?? defaultPreprocessing(model));
  const { inChannels, inputSize } = model.config;
  const backend = model.backend;
  const names = model.classes;
  if (names && names.length !== classes) throw new RangeError(`model.classes has ${names.length} names for ${classes} outputs`);

  // Turn every input into either a preprocessed host image or a batch tensor, keeping the order.
  const rng = new Rng(0); // evaluation transforms are deterministic; the stream is never drawn from
  const items: (Float32Array | Tensor)[] = [];
  for (const [i, input] of list.entries()) {
    if (input instanceof Tensor) {
      checkTensor(input, `inputs[${i}]`, backend);
      if (input.shape.length === 3) items.push(input.reshape([1, ...input.shape]));
      else if (input.shape.length === 4) items.push(input.share());
      else throw new RangeError(`inputs[${i}] must be a [C, H, W] or [N, C, H, W] tensor, got shape [${input.shape.join(', ')}]`);
      continue;
    }
    let image: Image;
    if (typeof input === 'string' || input instanceof Uint8Array) {
      image = await decodeImage(input, { channels: inChannels === 1 ? 1 : 3 });
    } else {
      image = checkImage(input, `inputs[${i}]`);
    }
    const out = pipeline.apply(image, rng);
    if (out.channels !== inChannels || out.height !== inputSize || out.width !== inputSize) {
      throw new RangeError(
        `inputs[${i}] is [${out.channels}, ${out.height}, ${out.width}] after preprocessing, the model takes [${inChannels}, ${inputSize}, ${inputSize}]`,
      );
    }
    items.push(out.data);
  }

  const predictions: Prediction[] = [];
  try {
    const run = async (input: Tensor) => {
      const logits = inEvalMode(model, () => model.forward(input));
      const probs = softmax(logits);
      logits.dispose();
      const values = await probs.toArray();
      probs.dispose();
      for (let r = 0; r < input.shape[0]!; r++) predictions.push(topK(values, r, classes, k, names));
    };
    let pending: Float32Array[] = [];
    const flush = async () => {
      if (pending.length === 0) return;
      const sample = inChannels * inputSize * inputSize;
      const data = new Float32Array(pending.length * sample);
      pending.forEach((p, i) => data.set(p, i * sample));
      const input = Tensor.fromArray(data, [pending.length, inChannels, inputSize, inputSize], { backend, dtype: 'float32' });
      pending = [];
      try {
        await run(input);
      } finally {
        input.dispose();
      }
    };
    for (const item of items) {
      if (item instanceof Tensor) {
        await flush();
        try {
          await run(item);
        } finally {
          item.dispose();
        }
      } else {
        pending.push(item);
        if (pending.length === batchSize) await flush();
      }
    }
    await flush();
  } finally {
    for (const item of items) if (item instanceof Tensor) item.dispose();
  }
  return predictions;
}
