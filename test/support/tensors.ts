/**
 * Tensors for the tests: fixture tensors uploaded to a backend, and inputs for comparing the device
 * with the CPU build: the same values on both, drawn once on the CPU (so that the comparison never
 * depends on the two generators agreeing, which test/ops/elementwise.test.ts checks on its own).
 */
import type { Backend } from '../../lib/backend/backend';
import type { SafetensorsTensor } from '../../lib/io/safetensors';
import { Tensor, type Seed } from '../../lib/tensor';
import { cpu } from './device';

/** One array of values as a tensor on the CPU and as a tensor on the device. */
export interface Pair {
  cpu: Tensor;
  dev: Tensor;
}

/** Uploads host values to the CPU and to `dev`. */
export function pairFrom(values: Float32Array | Int32Array, shape: readonly number[], dev: Backend): Pair {
  const dtype = values instanceof Int32Array ? 'int32' : 'float32';
  return {
    cpu: Tensor.fromArray(values, shape, { backend: cpu(), dtype }),
    dev: Tensor.fromArray(values, shape, { backend: dev, dtype }),
  };
}

/** Normal values N(mean, std²) drawn on the CPU from `seed`, on both backends. */
export async function randomPair(
  shape: readonly number[],
  seed: Seed,
  dev: Backend,
  { mean = 0, std = 1 }: { mean?: number; std?: number } = {},
): Promise<Pair & { values: Float32Array }> {
  const drawn = Tensor.normal(shape, { mean, std, seed }, { backend: cpu() });
  const values = await drawn.toArray();
  return { cpu: drawn, dev: Tensor.fromArray(values, shape, { backend: dev }), values };
}

/** Integer class labels in [0, classes), seeded, on both backends. */
export async function labelPair(count: number, classes: number, seed: Seed, dev: Backend): Promise<Pair & { values: Int32Array }> {
  const uniform = Tensor.uniform([count], { low: 0, high: 1, seed }, { backend: cpu() });
  const u = await uniform.toArray();
  uniform.dispose();
  const values = Int32Array.from(u, (v) => Math.min(classes - 1, Math.floor(v * classes)));
  return { ...pairFrom(values, [count], dev), values };
}

/** A fixture tensor (float32 or int32) uploaded to `backend`. */
export function fixtureTensor(t: SafetensorsTensor, backend: Backend): Tensor {
  if (t.dtype === 'F32') return Tensor.fromArray(t.data as Float32Array, t.shape, { backend });
  if (t.dtype === 'I32') return Tensor.fromArray(t.data as Int32Array, t.shape, { backend, dtype: 'int32' });
  throw new Error(`fixtureTensor: fixture tensors are F32 or I32, got ${t.dtype}`);
}

/** Disposes every tensor given (null and undefined are skipped). */
export function disposeAll(...tensors: (Tensor | null | undefined)[]): void {
  for (const t of tensors) t?.dispose();
}

/** Disposes both sides of each pair. */
export function disposePairs(...pairs: Pair[]): void {
  for (const p of pairs) disposeAll(p.cpu, p.dev);
}
