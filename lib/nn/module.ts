/**
 * The layer contract. A module's forward returns a new tensor owned by the caller; in training
 * mode it keeps (shared handles to) what its backward pass needs, and backward releases them.
 * Backward overwrites the parameters' gradients and returns the gradient for the input, or null
 * when `inputGrad` is false (the first layer of a network needs none).
 * @module
 */
import type { Backend } from '../backend/backend';
import { callNative } from '../errors';
import { checkTensor, Tensor } from '../tensor';
import type { FlatParameters } from './flatParameters';
import { setRequiresGrad } from './freeze';

/**
 * A trainable tensor and its latest gradient. In a model built by createAlexNet (or after
 * {@link FlatParameters.adopt}) the value and the gradient are views of one flat buffer each,
 * shared by every parameter: {@link Parameter.set} then copies into the view, and backward passes
 * write the gradient into its view, so that the optimizer updates everything in one pass and a
 * captured training step always finds the parameters at the same addresses.
 */
export class Parameter {
  /** The gradient from the last backward pass, or null before the first. */
  grad: Tensor | null = null;
  /**
   * Whether training updates this parameter (default true). A frozen parameter (false) gets no
   * gradient from backward and no update or state from an optimizer; see Module.freeze.
   */
  requiresGrad = true;
  #flat: { group: FlatParameters; grad: Tensor } | null = null;

  constructor(
    /** Name within its module ('weight', 'bias'); models prefix it with the module's path. */
    readonly name: string,
    /** The values. Replace with {@link Parameter.set}. */
    public value: Tensor,
  ) {}

  /**
   * Replaces the values (shapes must match). The parameter takes `value` over: a separate
   * parameter disposes its previous tensor and keeps `value`; one in a flat buffer copies `value`
   * into its view there and disposes `value` (the copy is queued, so this is safe at once).
   */
  set(value: Tensor): void {
    checkTensor(value, `${this.name}: value`);
    if (value.shape.join(',') !== this.value.shape.join(',')) {
      throw new RangeError(`${this.name}: new value has shape [${value.shape.join(', ')}], expected [${this.value.shape.join(', ')}]`);
    }
    if (value === this.value) return;
    if (this.#flat) {
      if (value.backend !== this.value.backend) {
        throw new TypeError(`${this.name}: value lives on the ${value.backend.kind} backend, expected ${this.value.backend.kind}`);
      }
      callNative(() => this.value.backend.native.copy(this.value.handle, value.handle));
      value.dispose();
      return;
    }
    this.value.dispose();
    this.value = value;
  }

  /** Replaces the gradient, disposing the previous one (a flat buffer's view of it is kept). */
  setGrad(grad: Tensor | null): void {
    if (this.grad && this.grad !== grad && this.grad !== this.#flat?.grad) this.grad.dispose();
    this.grad = grad;
  }

  /** The flat buffers this parameter's value and gradient are views of, or null. */
  get flat(): FlatParameters | null {
    return this.#flat?.group ?? null;
  }

  /** @internal Where a backward pass writes the gradient (the flat buffer's view), or null for a new tensor. */
  get gradTarget(): Tensor | null {
    return this.#flat?.grad ?? null;
  }

  /**
   * @internal Takes a gradient a backward pass produced: with a flat buffer, `grad` is a handle to
   * the view it was written into (released here) and `grad` becomes the view itself.
   */
  receiveGrad(grad: Tensor): void {
    if (this.#flat) {
      if (grad !== this.#flat.grad) grad.dispose();
      this.grad = this.#flat.grad;
      return;
    }
    this.setGrad(grad);
  }

  /** @internal Makes `value` and `grad` (views of `group`'s buffers, holding this parameter's values) its own. */
  bindFlat(group: FlatParameters, value: Tensor, grad: Tensor): void {
    if (this.value !== value) this.value.dispose();
    if (this.grad && this.grad !== this.#flat?.grad) this.grad.dispose();
    this.value = value;
    this.grad = null;
    this.#flat = { group, grad };
  }

  /**
   * @internal Leaves the flat buffers: the parameter takes a copy of its values in memory of its
   * own, and its gradient becomes null (FlatParameters.release, when a model's parameters change).
   */
  unbindFlat(): void {
    if (!this.#flat) return;
    const own = this.value.clone();
    this.value.dispose();
    this.value = own;
    if (this.grad && this.grad !== this.#flat.grad) this.grad.dispose();
    this.grad = null;
    this.#flat.grad.dispose();
    this.#flat = null;
  }

  /**
   * @internal Drops the gradient of a frozen parameter: `grad` becomes null and, in a flat buffer,
   * its view there is zeroed, so that no stale gradient remains for an update to find.
   */
  clearGrad(): void {
    this.setGrad(null);
    const view = this.#flat?.grad;
    if (view) callNative(() => view.handle.fill(0));
  }

  /** Frees the value and the gradient (the module's {@link Module.dispose} calls this). */
  dispose(): void {
    this.value.dispose();
    this.setGrad(null);
    this.#flat?.grad.dispose();
  }
}

/** Options of {@link Module.backward}. */
export interface BackwardOptions {
  /** Compute the gradient with respect to the input (default true). */
  inputGrad?: boolean;
}

/**
 * Base class of layers and models. `forward` returns a new tensor the caller owns and, in training
 * mode, keeps what `backward` needs; `backward` sets the parameters' gradients and returns the
 * input's gradient. Call {@link Module.dispose} to free the parameters.
 */
export abstract class Module {
  /** Training mode: dropout is active and forward keeps what backward needs. */
  training = true;

  /** A name for summaries (the class name by default). */
  get kind(): string {
    return this.constructor.name;
  }

  /**
   * The output for `input` (float32; image layers take NCHW). Returns a new tensor that the caller
   * disposes; `input` stays the caller's. In training mode the module keeps (shared handles to)
   * what {@link Module.backward} needs. Throws a TypeError or RangeError for a bad input.
   */
  abstract forward(input: Tensor): Tensor;
  /**
   * Backpropagates `gradOutput` (the loss's gradient for the last forward's output, same shape):
   * replaces each parameter's `grad` and returns the input's gradient, which the caller disposes,
   * or null when `options.inputGrad` is false. Releases what forward kept; throws an Error when
   * there is nothing to backpropagate (no forward in training mode since the last backward).
   */
  abstract backward(gradOutput: Tensor, options?: BackwardOptions): Tensor | null;

  /** The output shape for an input shape, without computing anything (throws on a bad shape). */
  abstract outputShape(inputShape: readonly number[]): number[];

  /** Trainable parameters, in a stable order. */
  parameters(): Parameter[] {
    return [];
  }

  /** Child modules with their names (Sequential's indices). */
  children(): [string, Module][] {
    return [];
  }

  /** Parameters with dotted names, as PyTorch's named_parameters() gives them. */
  namedParameters(prefix = ''): [string, Parameter][] {
    const own = this.parameters().map((p): [string, Parameter] => [prefix + p.name, p]);
    const nested = this.children().flatMap(([name, child]) => child.namedParameters(`${prefix}${name}.`));
    return [...own, ...nested];
  }

  /** Switches training mode on or off here and in every child. */
  train(on = true): this {
    this.training = on;
    for (const [, child] of this.children()) child.train(on);
    return this;
  }

  /** Switches to evaluation mode (dropout off, nothing kept for backward). */
  eval(): this {
    return this.train(false);
  }

  /** Drops what forward kept for backward. */
  clearSaved(): void {
    for (const [, child] of this.children()) child.clearSaved();
  }

  /** Frees parameters, gradients and saved tensors. */
  dispose(): void {
    this.clearSaved();
    for (const p of this.parameters()) p.dispose();
    for (const [, child] of this.children()) child.dispose();
  }

  /** Number of parameter scalars (trainable and frozen; see {@link Module.trainableParameterCount}). */
  parameterCount(): number {
    return this.namedParameters().reduce((n, [, p]) => n + p.value.size, 0);
  }

  /** Number of parameter scalars that training updates (those with `requiresGrad`). */
  trainableParameterCount(): number {
    return this.namedParameters().reduce((n, [, p]) => n + (p.requiresGrad ? p.value.size : 0), 0);
  }

  /** Whether any parameter of this module (or its children) is trainable. */
  hasTrainableParameters(): boolean {
    return this.namedParameters().some(([, p]) => p.requiresGrad);
  }

  /**
   * Freezes parameters: training computes no gradient for them (their layers skip the weight and
   * bias gradient products, and a backward pass stops below the lowest layer that still has
   * trainable parameters), and optimizers leave them alone. With no names, every parameter of this
   * module; otherwise each name selects a block or a parameter as {@link Module.namedParameters}
   * names them: 'features' (a whole block), 'classifier.6' (one layer), 'features.0.weight' (one
   * parameter). A frozen parameter's `grad` becomes null. Throws a RangeError naming an unknown name
   * (and listing the valid ones), and a ModelBusyError while a fit trains these parameters
   * (freeze before calling fit). Returns this module.
   */
  freeze(...names: string[]): this {
    setRequiresGrad(this, names, false, 'freeze');
    return this;
  }

  /** Makes parameters trainable again; selects them as {@link Module.freeze} does. Returns this module. */
  unfreeze(...names: string[]): this {
    setRequiresGrad(this, names, true, 'unfreeze');
    return this;
  }

  /** The backend holding the parameters (undefined for a module without any). */
  get backend(): Backend | undefined {
    return this.namedParameters()[0]?.[1].value.backend;
  }
}

/** Keeps tensors for the backward pass and frees them together. */
export class SavedTensors {
  #tensors: Tensor[] = [];

  save(t: Tensor): Tensor {
    const shared = t.share();
    this.#tensors.push(shared);
    return shared;
  }

  take(): Tensor[] {
    const all = this.#tensors;
    this.#tensors = [];
    return all;
  }

  get empty(): boolean {
    return this.#tensors.length === 0;
  }

  clear(): void {
    for (const t of this.take()) t.dispose();
  }

  /** Keeps `tensors` (shared handles) in place of what was kept: a training forward's activations. */
  keep(...tensors: Tensor[]): void {
    this.clear();
    for (const t of tensors) this.save(t);
  }

  /**
   * Hands the `count` kept tensors to `backward` and frees them afterwards, whatever it does;
   * throws an Error naming `layer` when a training forward did not keep them.
   */
  use<T>(layer: string, count: number, backward: (kept: Tensor[]) => T): T {
    const kept = this.take();
    try {
      if (kept.length !== count) throw new Error(`${layer}.backward: call forward in training mode first`);
      return backward(kept);
    } finally {
      for (const t of kept) t.dispose();
    }
  }
}

/** Throws unless `input` has `rank` dimensions. */
export function requireRank(layer: string, shape: readonly number[], rank: number, layout: string): void {
  if (shape.length !== rank) {
    throw new RangeError(`${layer}: input must be ${rank}-D ${layout}, got shape [${shape.join(', ')}]`);
  }
}
