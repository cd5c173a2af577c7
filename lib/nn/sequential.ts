/**
 * Sequential: runs modules in order. Children are named '0', '1', ... or by the names given, which
 * is how parameter names such as 'features.0.weight' (torchvision's) come about.
 *
 * A Conv2d or Linear directly followed by a ReLU runs as one fused op (cuDNN's and cuBLASLt's
 * ReLU epilogues on the GPU, oneDNN's post-op on the CPU); the ReLU keeps the output for backward.
 * @module
 */
import { Tensor } from '../tensor';
import { ReLU } from './activation';
import { Conv2d } from './conv2d';
import { linearEpilogues } from './epilogues';
import { Linear } from './linear';
import { Module, type BackwardOptions } from './module';

function isFusable(layer: Module | undefined, next: Module | undefined): layer is Conv2d | Linear {
  return (layer instanceof Conv2d || layer instanceof Linear) && next instanceof ReLU;
}

/** A Linear (with bias), ReLU, Linear sequence that the epilogue pair covers (epilogues.ts). */
function isEpiloguePair(layer: Module | undefined, relu: Module | undefined, next: Module | undefined): layer is Linear {
  return layer instanceof Linear && layer.bias !== null && relu instanceof ReLU && next instanceof Linear;
}

/**
 * Runs child modules in order, naming them '0', '1', ... or as given (which makes parameter names
 * such as 'features.0.weight'). A Conv2d or Linear followed by a ReLU runs as one fused op.
 */
export class Sequential extends Module {
  readonly #entries: [string, Module][];

  /** `new Sequential(a, b, c)` names the children '0', '1', '2'; pass [name, module] pairs to name them. */
  constructor(...modules: (Module | [string, Module])[]) {
    super();
    this.#entries = modules.map((m, i): [string, Module] => {
      if (Array.isArray(m)) {
        const [name, module] = m;
        if (typeof name !== 'string' || !(module instanceof Module)) {
          throw new TypeError(`Sequential: entry ${i} must be a Module or a [name, Module] pair`);
        }
        return [name, module];
      }
      if (!(m instanceof Module)) throw new TypeError(`Sequential: entry ${i} must be a Module`);
      return [String(i), m];
    });
    const names = new Set(this.#entries.map(([n]) => n));
    if (names.size !== this.#entries.length) throw new RangeError('Sequential: child names must be unique');
  }

  /** The child modules, in order. */
  get layers(): Module[] {
    return this.#entries.map(([, m]) => m);
  }

  /** A child by name. */
  get(name: string): Module | undefined {
    return this.#entries.find(([n]) => n === name)?.[1];
  }

  /**
   * Puts `module` in the place of the child `name` and returns the child it replaces (the caller
   * disposes it). Throws a RangeError naming an unknown child. What a model keeps around its
   * layers (an AlexNet's flat parameter buffers) is the model's to rebuild: see AlexNet.replaceHead.
   */
  replace(name: string, module: Module): Module {
    if (!(module instanceof Module)) throw new TypeError(`Sequential.replace: module must be a Module`);
    const index = this.#entries.findIndex(([n]) => n === name);
    if (index < 0) {
      throw new RangeError(
        `Sequential.replace: no child named ${JSON.stringify(name)}; expected one of ${this.#entries.map(([n]) => JSON.stringify(n)).join(', ')}`,
      );
    }
    const old = this.#entries[index]![1];
    this.#entries[index] = [name, module];
    return old;
  }

  override children(): [string, Module][] {
    return [...this.#entries];
  }

  override outputShape(inputShape: readonly number[]): number[] {
    return this.layers.reduce<number[]>((shape, layer) => layer.outputShape(shape), [...inputShape]);
  }

  /** Runs every child on the previous one's output, freeing intermediate results; returns the last output. */
  override forward(input: Tensor): Tensor {
    const layers = this.layers;
    let x = input;
    for (let i = 0; i < layers.length; i++) {
      const layer = layers[i]!;
      const next = layers[i + 1];
      let y: Tensor;
      if (this.training && linearEpilogues() && isEpiloguePair(layer, next, layers[i + 2])) {
        const { output, mask } = layer.forwardReluMask(x);
        y = output;
        (next as ReLU).adoptOutput(y);
        (next as ReLU).adoptMask(mask);
        i++;
      } else if (isFusable(layer, next)) {
        y = layer.forwardFused(x, true);
        (next as ReLU).adoptOutput(y);
        i++;
      } else {
        y = layer.forward(x);
      }
      if (x !== input) x.dispose(); // layers kept their own handles to what they need
      x = y;
    }
    return x === input ? input.share() : x;
  }

  /**
   * Backpropagates through the children in reverse order; `inputGrad` applies to the first child
   * only. Frozen parameters get no gradient, and the pass stops below the lowest child that still
   * has trainable parameters (unless the caller wants the input's gradient): the children below it
   * only release what their forward kept, and null is returned.
   */
  override backward(gradOutput: Tensor, options: BackwardOptions = {}): Tensor | null {
    const layers = this.layers;
    // needBelow[i]: whether some child before i trains, or the caller wants the input's gradient,
    // so that child i must pass a gradient down.
    const needBelow: boolean[] = [];
    let any = options.inputGrad !== false;
    for (const layer of layers) {
      needBelow.push(any);
      if (layer.hasTrainableParameters()) any = true;
    }
    let grad: Tensor | null = gradOutput;
    let i = layers.length - 1;
    try {
      for (; i >= 0; i--) {
        const layer = layers[i]!;
        if (!needBelow[i] && !layer.hasTrainableParameters()) break; // nothing here or below needs a gradient
        const relu = layers[i - 1];
        const first = layers[i - 2];
        if (needBelow[i] && layer instanceof Linear && relu instanceof ReLU && relu.hasMask && isEpiloguePair(first, relu, layer)) {
          // The epilogue pair: this layer's backward-data product runs through the ReLU's mask and
          // gives the first layer's bias gradient; the first layer then does the rest.
          const mask = relu.takeMask()!;
          let preActivation: Tensor;
          try {
            preActivation = layer.backwardThroughRelu(grad!, mask, first);
          } finally {
            mask.dispose();
            relu.clearSaved();
          }
          if (grad !== gradOutput) grad!.dispose();
          grad = null;
          try {
            grad = first.backwardBiasDone(preActivation, needBelow[i - 2]!);
          } finally {
            preActivation.dispose();
          }
          i -= 2;
          continue;
        }
        const next: Tensor | null = layer.backward(grad!, { inputGrad: needBelow[i]! });
        if (grad !== gradOutput) grad!.dispose();
        grad = next;
      }
    } finally {
      // The children the pass did not reach (or failed in) release what their forward kept.
      for (let j = Math.min(i, layers.length - 1); j >= 0; j--) layers[j]!.clearSaved();
    }
    if (i >= 0) {
      if (grad !== gradOutput) grad?.dispose();
      return null;
    }
    return grad === gradOutput ? gradOutput.share() : grad;
  }
}
