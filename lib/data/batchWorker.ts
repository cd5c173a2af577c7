/**
 * The worker-thread side of batch preparation: rebuilds the dataset's reader and the transforms
 * from plain data, then answers each job with a packed batch whose buffer is transferred back
 * (no copy).
 * @internal
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';

import { assembleBatch, sourceImage } from './batchAssembly';
import type { WorkerSource } from './dataset';
import { Pipeline } from './transforms/pipeline';
import type { TransformSpec } from './transforms/transform';

/** What the worker is started with. */
export interface BatchWorkerData {
  source: WorkerSource;
  transforms: TransformSpec[];
  seed: string;
}

/** One batch to prepare. */
export interface BatchJob {
  id: number;
  epoch: number;
  indices: Int32Array;
  /** A buffer to fill (transferred), reused from an earlier batch. */
  buffer: ArrayBuffer | null;
}

/** The answer to a job. */
export type BatchReply =
  | { id: number; ok: true; data: Float32Array; sampleShape: [number, number, number] }
  | { id: number; ok: false; message: string; name: string };

if (parentPort) {
  const port = parentPort;
  const { source, transforms, seed } = workerData as BatchWorkerData;
  const pipeline = new Pipeline(transforms);
  const seedValue = BigInt(seed);
  port.on('message', (job: BatchJob) => {
    assembleBatch((i) => sourceImage(source, i), job.indices, pipeline, seedValue, job.epoch, job.buffer ?? undefined).then(
      (batch) => {
        const reply: BatchReply = { id: job.id, ok: true, data: batch.data, sampleShape: batch.sampleShape };
        port.postMessage(reply, [batch.data.buffer as ArrayBuffer]);
      },
      (error: unknown) => {
        const e = error instanceof Error ? error : new Error(String(error));
        const reply: BatchReply = { id: job.id, ok: false, message: e.message, name: e.name };
        port.postMessage(reply);
      },
    );
  });
}
