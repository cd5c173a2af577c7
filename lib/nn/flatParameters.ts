/**
 * One flat buffer for the values of a list of parameters and one for their gradients, each
 * parameter's tensors being views of them (Tensor.slice). This is how models keep their
 * parameters by default (createAlexNet): the optimizer then updates every parameter in one pass
 * over memory (one kernel on the GPU, lib/optim/sgd.ts), and a training step captured into a graph
 * (lib/training/stepCapture.ts) finds every parameter and gradient at the same address at every
 * launch, whatever checkpoints or Parameter.set write into them.
 *
 * Each parameter starts at a multiple of {@link FLAT_ALIGNMENT} elements (256 bytes), which the
 * libraries' vector loads want; the gaps stay zero (the optimizers keep zeros zero). The
 * optimizers use the segment table to update slices of neighbouring parameters of one parameter
 * group, leaving frozen ones out (lib/optim/optimizer.ts).
 * A frozen parameter (Module.freeze) keeps its segment: its gradient view is zeroed and no backward
 * pass writes it. A model whose parameter list changes (AlexNet.replaceHead) releases its buffers
 * ({@link FlatParameters.release}) and adopts the new list into new ones.
 * @module
 */
import { callNative } from '../errors';
import { Tensor } from '../tensor';
import { describe, isArray } from '../validate';
import { Parameter } from './module';

/** Elements between the starts of consecutive parameters in the flat buffers are multiples of this. */
export const FLAT_ALIGNMENT = 64;

/** Where one parameter lives in the flat buffers. */
export interface FlatSegment {
  /** The parameter. */
  readonly parameter: Parameter;
  /** Its first element in the flat buffers. */
  readonly offset: number;
  /** Its element count. */
  readonly size: number;
}

/** The flat value and gradient buffers of a list of parameters (see the module notes). */
export class FlatParameters {
  /** Every parameter's values, one after another (with alignment gaps of zeros). */
  readonly values: Tensor;
  /** Every parameter's gradient, laid out as {@link FlatParameters.values}. */
  readonly grads: Tensor;
  /** The parameters, in the order given, with their places in the buffers. */
  readonly segments: readonly FlatSegment[];

  private constructor(values: Tensor, grads: Tensor, segments: FlatSegment[]) {
    this.values = values;
    this.grads = grads;
    this.segments = segments;
  }

  /** The parameters, in buffer order. */
  get parameters(): Parameter[] {
    return this.segments.map((s) => s.parameter);
  }

  /** Elements in each buffer (the parameters' total plus the alignment gaps). */
  get size(): number {
    return this.values.size;
  }

  /**
   * Moves `params` (all on one backend, none already in flat buffers) into new flat buffers: each
   * parameter's current values are copied into its view, which replaces its tensor (the old one
   * is disposed); its gradient starts null and is written into its view by backward passes.
   */
  static adopt(params: readonly Parameter[]): FlatParameters {
    if (!isArray(params) || params.length === 0)
      throw new TypeError('FlatParameters.adopt: params must be a non-empty array of Parameters');
    params.forEach((p, i) => {
      if (!(p instanceof Parameter)) throw new TypeError(`FlatParameters.adopt: params[${i}] must be a Parameter, got ${describe(p)}`);
      if (p.flat) throw new TypeError(`FlatParameters.adopt: params[${i}] (${p.name}) is in flat buffers already`);
    });
    if (new Set(params).size !== params.length) throw new TypeError('FlatParameters.adopt: params must not repeat a Parameter');
    const backend = params[0]!.value.backend;
    const offsets: number[] = [];
    let total = 0;
    for (const [i, p] of params.entries()) {
      if (p.value.backend !== backend) {
        throw new TypeError(
          `FlatParameters.adopt: params[${i}] (${p.name}) is on the ${p.value.backend.kind} backend, params[0] on ${backend.kind}`,
        );
      }
      if (p.value.dtype !== 'float32') throw new TypeError(`FlatParameters.adopt: params[${i}] (${p.name}) must be float32`);
      offsets.push(total);
      total += Math.ceil(p.value.size / FLAT_ALIGNMENT) * FLAT_ALIGNMENT;
    }
    const values = Tensor.zeros([total], { backend });
    const grads = Tensor.zeros([total], { backend });
    const segments: FlatSegment[] = [];
    const group = new FlatParameters(values, grads, segments);
    for (const [i, p] of params.entries()) {
      const offset = offsets[i]!;
      const value = values.slice(offset, p.value.shape);
      callNative(() => backend.native.copy(value.handle, p.value.handle));
      p.bindFlat(group, value, grads.slice(offset, p.value.shape));
      segments.push({ parameter: p, offset, size: value.size });
    }
    return group;
  }

  /** Whether `params` are exactly this group's parameters, in order (what a one-pass update needs). */
  covers(params: readonly Parameter[]): boolean {
    return params.length === this.segments.length && params.every((p, i) => this.segments[i]!.parameter === p);
  }

  /**
   * Hands every parameter a copy of its values in memory of its own (their gradients become null)
   * and frees the buffers: how a model whose parameters change (a new head) leaves its old buffers
   * before adopting the new list. Optimizers and captured steps built on these buffers must not be
   * used afterwards (a captured step notices the new buffers and captures again).
   */
  release(): void {
    for (const s of this.segments) s.parameter.unbindFlat();
    this.dispose();
  }

  /** Releases the buffers (the parameters' views keep the memory until they are disposed too). */
  dispose(): void {
    this.values.dispose();
    this.grads.dispose();
  }
}
