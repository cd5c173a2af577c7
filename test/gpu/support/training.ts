/**
 * A seeded synthetic classification task and a plain training loop, for running the same training
 * on two backends (training.test.ts), for many steps (memory.test.ts) and after running out of
 * memory (outOfMemory.test.ts).
 */
import type { Backend } from '../../../lib/backend/backend';
import { CrossEntropyLoss, type Module } from '../../../lib/nn/index';
import type { SGD } from '../../../lib/optim/sgd';
import { Tensor } from '../../../lib/tensor';
import { cpu } from '../../support/device';

/** One batch on the host. */
export interface HostBatch {
  images: Float32Array;
  labels: Int32Array;
  shape: [number, number, number, number];
}

export interface SyntheticTask {
  batchSize: number;
  channels: number;
  size: number;
  classes: number;
  seed: number;
}

/** Each class's pattern: a smooth sinusoid with its own frequencies and phase. */
function classPatterns({ size, classes }: SyntheticTask): Float32Array[] {
  return Array.from({ length: classes }, (_, c) => {
    const fy = 1 + (c % 4);
    const fx = 1 + Math.floor(c / 4);
    const phase = (c * 2 * Math.PI) / classes;
    const p = new Float32Array(size * size);
    for (let h = 0; h < size; h++) {
      for (let w = 0; w < size; w++) p[h * size + w] = Math.sin((2 * Math.PI * (fy * h + fx * w)) / size + phase);
    }
    return p;
  });
}

/**
 * Batch `index` of a task a small convnet learns within a few hundred steps: each image is its
 * class's pattern plus unit Gaussian noise. Labels and noise are seeded draws on the CPU backend,
 * so batch `index` is the same wherever and whenever it is made.
 */
export async function syntheticBatch(task: SyntheticTask, index: number): Promise<HostBatch> {
  const { batchSize, channels, size, classes, seed } = task;
  const patterns = classPatterns(task);
  const plane = size * size;
  const shape: [number, number, number, number] = [batchSize, channels, size, size];
  const noise = Tensor.normal(shape, { seed: seed + 2 * index }, { backend: cpu() });
  const uniform = Tensor.uniform([batchSize], { seed: seed + 2 * index + 1 }, { backend: cpu() });
  const images = await noise.toArray();
  const u = await uniform.toArray();
  noise.dispose();
  uniform.dispose();
  const labels = Int32Array.from(u, (v) => Math.min(classes - 1, Math.floor(v * classes)));
  for (let n = 0; n < batchSize; n++) {
    const pattern = patterns[labels[n]];
    for (let c = 0; c < channels; c++) {
      const offset = (n * channels + c) * plane;
      for (let i = 0; i < plane; i++) images[offset + i] += pattern[i];
    }
  }
  return { images, labels, shape };
}

/** Batches 0 to count - 1 of a task (for loops that cycle over a few batches). */
export async function syntheticBatches(task: SyntheticTask & { batches: number }): Promise<HostBatch[]> {
  const out: HostBatch[] = [];
  for (let b = 0; b < task.batches; b++) out.push(await syntheticBatch(task, b));
  return out;
}

/**
 * One training step on `backend`: upload the batch, forward, loss, backward, SGD. Returns the loss
 * tensor (the caller reads or disposes it); every other tensor of the step is disposed.
 */
export function trainStep(model: Module, optimizer: SGD, batch: HostBatch, backend: Backend): Tensor {
  const x = Tensor.fromArray(batch.images, batch.shape, { backend });
  const labels = Tensor.fromArray(batch.labels, [batch.labels.length], { backend, dtype: 'int32' });
  const logits = model.forward(x);
  const { loss, gradLogits } = new CrossEntropyLoss().compute(logits, labels);
  model.backward(gradLogits)?.dispose();
  optimizer.step();
  for (const t of [x, labels, logits, gradLogits]) t.dispose();
  return loss;
}

/** Runs `steps` training steps over the batches in turn and returns every step's loss. */
export async function trainLosses(model: Module, optimizer: SGD, batches: HostBatch[], steps: number, backend: Backend): Promise<number[]> {
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const loss = trainStep(model, optimizer, batches[step % batches.length], backend);
    losses.push(((await loss.toArray()) as Float32Array)[0]);
    loss.dispose();
  }
  return losses;
}
