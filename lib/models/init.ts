/**
 * Initialization schemes for the convolution and fully connected layers of a model.
 *
 * - `pytorch`: PyTorch's defaults (weight and bias uniform in ±1/sqrt(fanIn)).
 * - `paper`: Krizhevsky et al. 2012, section 5: weights N(0, 0.01); biases 1 in the second, fourth and
 *   fifth convolutional layers and in the hidden fully connected layers, 0 elsewhere.
 * - `xavier`: Glorot uniform weights, bound sqrt(6 / (fanIn + fanOut)); biases keep PyTorch's default,
 *   as Dive into Deep Learning's `init_cnn` does (it re-initializes only the weights).
 * - `kaiming`: He normal weights for ReLU, std sqrt(2 / fanIn); biases 0.
 * - `keras`: Keras' defaults for Conv2D and Dense, which the seed tutorial's Keras models (`keras-v1`,
 *   `keras-v2`) use: Glorot uniform weights (as `xavier`) and zero biases.
 * - `truncated-normal`: the seed tutorial's TensorFlow code (`seed-tf`): weights from
 *   `tf.truncated_normal(stddev=0.1)` (normal, values beyond two standard deviations redrawn), biases 0.
 *   At AlexNet's fan-ins a fixed 0.1 grows activations about tenfold per layer, so a full-size model
 *   starts with enormous logits: see the `seed-tf` preset for why it is not that preset's default.
 *
 * Every draw is seeded: layer i's weight and bias use streams derived from (seed, i).
 * @module
 */
import { Conv2d } from '../nn/conv2d';
import { Linear } from '../nn/linear';
import { Module } from '../nn/module';
import { deriveSeed } from '../random';
import { Tensor, type Seed } from '../tensor';
import { oneOf } from '../validate';

/**
 * How {@link initialize} draws Conv2d and Linear parameters:
 * - `pytorch`: weight and bias uniform in ±1/sqrt(fanIn) (PyTorch's default);
 * - `paper`: weights N(0, 0.01); biases 1 in conv2, conv4, conv5 and the hidden fully connected layers, else 0;
 * - `xavier`: Glorot uniform weights, bound sqrt(6 / (fanIn + fanOut)); PyTorch's default biases;
 * - `kaiming`: He normal weights, std sqrt(2 / fanIn); biases 0;
 * - `keras`: Glorot uniform weights, zero biases (Keras' defaults);
 * - `truncated-normal`: TensorFlow's `truncated_normal(stddev=0.1)` weights (redrawn beyond 2 standard
 *   deviations) and zero biases, as the seed tutorial's TensorFlow code initializes.
 */
export type InitScheme = 'pytorch' | 'paper' | 'xavier' | 'kaiming' | 'keras' | 'truncated-normal';

/** Every {@link InitScheme} (for validation and command-line choices). */
export const INIT_SCHEMES: readonly InitScheme[] = ['pytorch', 'paper', 'xavier', 'kaiming', 'keras', 'truncated-normal'];

/** The Conv2d and Linear layers of a module, in forward order. */
export function weightedLayers(module: Module): (Conv2d | Linear)[] {
  if (module instanceof Conv2d || module instanceof Linear) return [module];
  return module.children().flatMap(([, child]) => weightedLayers(child));
}

/** Applies `scheme` to every Conv2d and Linear layer of `module`. */
export function initialize(module: Module, scheme: InitScheme, seed: Seed): void {
  oneOf(scheme, INIT_SCHEMES, 'init');
  const layers = weightedLayers(module);
  const convs = layers.filter((l) => l instanceof Conv2d);
  const linears = layers.filter((l) => l instanceof Linear);
  layers.forEach((layer, i) => {
    const convIndex = convs.indexOf(layer as Conv2d);
    const linearIndex = linears.indexOf(layer as Linear);
    const paperBiasOne = convIndex === 1 || convIndex === 3 || convIndex === 4 || (linearIndex >= 0 && linearIndex < linears.length - 1);
    initializeLayer(layer, scheme, seed, i, paperBiasOne);
  });
}

/**
 * Applies `scheme` to one layer as {@link initialize} does to the `index`-th Conv2d or Linear of a
 * module (its draws come from the streams (seed, 2 index) and (seed, 2 index + 1)); `paperBiasOne`
 * says whether the `paper` scheme sets its bias to 1 (conv2, conv4, conv5, hidden fully connected
 * layers) or 0. A model's new head (AlexNet.replaceHead) is drawn so.
 */
export function initializeLayer(layer: Conv2d | Linear, scheme: InitScheme, seed: Seed, index: number, paperBiasOne: boolean): void {
  oneOf(scheme, INIT_SCHEMES, 'init');
  const weightSeed = deriveSeed(seed, 2 * index);
  const biasSeed = deriveSeed(seed, 2 * index + 1);
  const backend = layer.weight.value.backend;
  const shape = layer.weight.value.shape;
  switch (scheme) {
    case 'pytorch':
      layer.resetParameters(weightSeed);
      return;
    case 'paper':
      layer.weight.set(Tensor.normal(shape, { mean: 0, std: 0.01, seed: weightSeed }, { backend }));
      layer.bias?.set(Tensor.full(layer.bias.value.shape, paperBiasOne ? 1 : 0, { backend }));
      return;
    case 'xavier':
    case 'keras': {
      const bound = Math.sqrt(6 / (layer.fanIn + layer.fanOut));
      layer.weight.set(Tensor.uniform(shape, { low: -bound, high: bound, seed: weightSeed }, { backend }));
      if (!layer.bias) return;
      if (scheme === 'keras') {
        layer.bias.set(Tensor.zeros(layer.bias.value.shape, { backend }));
        return;
      }
      const defaultBound = 1 / Math.sqrt(layer.fanIn);
      layer.bias.set(Tensor.uniform(layer.bias.value.shape, { low: -defaultBound, high: defaultBound, seed: biasSeed }, { backend }));
      return;
    }
    case 'kaiming':
      layer.weight.set(Tensor.normal(shape, { mean: 0, std: Math.sqrt(2 / layer.fanIn), seed: weightSeed }, { backend }));
      layer.bias?.set(Tensor.zeros(layer.bias.value.shape, { backend }));
      return;
    case 'truncated-normal':
      layer.weight.set(Tensor.normal(shape, { mean: 0, std: 0.1, truncation: 2, seed: weightSeed }, { backend }));
      layer.bias?.set(Tensor.zeros(layer.bias.value.shape, { backend }));
      return;
  }
}
