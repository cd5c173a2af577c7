/**
 * Helpers shared by the functional ops: checking that tensor arguments are live and on one
 * backend, and wrapping native results as Tensors. (Value checks are in lib/validate.ts.)
 * @internal
 * @module
 */
import type { Backend } from '../backend/backend';
import { loadAnyAddon } from '../backend/load';
import type { NativeAddon, NativeTensor } from '../backend/native';
import { callNative } from '../errors';
import { checkTensor, Tensor, type DType } from '../tensor';

/**
 * Checks that every named argument is a live Tensor on one backend, and returns that backend.
 * Those in `optional` (a bias) may also be null or undefined.
 */
export function sameBackend(op: string, tensors: Record<string, unknown>, optional: Record<string, unknown> = {}): Backend {
  let backend: Backend | undefined;
  let first = '';
  const all = Object.entries(tensors).concat(Object.entries(optional).filter(([, v]) => v !== null && v !== undefined));
  for (const [name, value] of all) {
    const t = checkTensor(value, `${op}: ${name}`);
    if (!backend) {
      backend = t.backend;
      first = name;
    } else if (t.backend !== backend) {
      throw new TypeError(`${op}: ${name} is on the ${t.backend.kind} backend but ${first} is on ${backend.kind}`);
    }
  }
  if (!backend) throw new TypeError(`${op}: no tensor given`);
  return backend;
}

/**
 * Wraps an op's result handle as a Tensor of element type `D`: float32 unless the caller says
 * otherwise (the native op decides the type; this only names it for TypeScript).
 */
export function wrap<D extends DType = 'float32'>(backend: Backend, handle: NativeTensor): Tensor<D>;
export function wrap<D extends DType = 'float32'>(backend: Backend, handle: NativeTensor | null): Tensor<D> | null;
export function wrap<D extends DType = 'float32'>(backend: Backend, handle: NativeTensor | null): Tensor<D> | null {
  return handle === null ? null : new Tensor<D>(backend, handle);
}

export function native<T>(fn: () => T): T {
  return callNative(fn);
}

/**
 * Asks the native shape rules (native/core/shapes.cc, the same code in both builds; the CPU build's
 * unless only the CUDA build loads) for an output shape. Their RangeError is re-labelled with `who` (a layer's or op's
 * name), so a layer's outputShape and its forward report a shape problem in the same words.
 */
export function nativeShape(who: string, query: (addon: NativeAddon) => number[]): number[] {
  try {
    return callNative(() => query(loadAnyAddon()));
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError) {
      const relabelled = new (error.constructor as typeof RangeError)(`${who}: ${error.message.replace(/^\w+: /, '')}`);
      throw relabelled;
    }
    throw error;
  }
}
