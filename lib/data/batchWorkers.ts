/**
 * A pool of worker threads that prepare batches (read, transform, pack) in parallel with each
 * other and with training. Workers hold a thread reference only while they have work, so an
 * idle pool never keeps the process alive.
 * @internal
 * @module
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import { packageRoot } from '../backend/packageRoot';
import type { HostBatch } from './batchAssembly';
import type { BatchJob, BatchReply, BatchWorkerData } from './batchWorker';

/**
 * The compiled worker script: beside this file when running from the build (dist/), else the
 * build's copy when running from TypeScript sources (tests), else undefined.
 */
export function batchWorkerScript(): string | undefined {
  const beside = path.join(__dirname, 'batchWorker.js');
  if (existsSync(beside)) return beside;
  const built = path.join(packageRoot(), 'dist', 'data', 'batchWorker.js');
  return existsSync(built) ? built : undefined;
}

interface Slot {
  worker: Worker;
  busy: boolean;
}

interface Pending {
  resolve: (batch: HostBatch) => void;
  reject: (error: Error) => void;
  slot: Slot;
}

/** Worker threads preparing batches; see the module notes. */
export class BatchWorkers {
  readonly size: number;
  readonly #slots: Slot[] = [];
  readonly #queue: { job: Omit<BatchJob, 'id'>; resolve: Pending['resolve']; reject: Pending['reject'] }[] = [];
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;
  #closed = false;
  #failure: Error | null = null;

  constructor(count: number, data: BatchWorkerData) {
    const script = batchWorkerScript();
    if (!script) {
      throw new Error('worker threads need the compiled package (dist/data/batchWorker.js): run `npm run build:ts`, or use workers: 0');
    }
    this.size = count;
    for (let i = 0; i < count; i++) {
      const worker = new Worker(script, { workerData: data });
      const slot: Slot = { worker, busy: false };
      worker.unref();
      worker.on('message', (reply: BatchReply) => this.#onReply(slot, reply));
      worker.on('error', (error) => this.#fail(new Error(`a data-loading worker failed: ${error.message}`)));
      worker.on('exit', (code) => {
        if (!this.#closed) this.#fail(new Error(`a data-loading worker exited unexpectedly (code ${code})`));
      });
      this.#slots.push(slot);
    }
  }

  /** Prepares one batch; resolves with its host memory. */
  run(job: Omit<BatchJob, 'id'>): Promise<HostBatch> {
    if (this.#closed) return Promise.reject(new Error('the data loader has been closed'));
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#queue.push({ job, resolve, reject });
      this.#dispatch();
    });
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      if (slot.busy) continue;
      const next = this.#queue.shift();
      if (!next) return;
      const id = this.#nextId++;
      slot.busy = true;
      slot.worker.ref();
      this.#pending.set(id, { resolve: next.resolve, reject: next.reject, slot });
      const message: BatchJob = { id, ...next.job };
      slot.worker.postMessage(message, message.buffer ? [message.buffer] : []);
    }
  }

  #onReply(slot: Slot, reply: BatchReply): void {
    const pending = this.#pending.get(reply.id);
    this.#pending.delete(reply.id);
    slot.busy = false;
    slot.worker.unref();
    if (pending) {
      if (reply.ok) {
        pending.resolve({ data: reply.data, sampleShape: reply.sampleShape });
      } else {
        const Ctor = reply.name === 'RangeError' ? RangeError : reply.name === 'TypeError' ? TypeError : Error;
        pending.reject(new Ctor(reply.message));
      }
    }
    this.#dispatch();
  }

  #fail(error: Error): void {
    if (this.#failure) return;
    this.#failure = error;
    for (const p of this.#pending.values()) p.reject(error);
    this.#pending.clear();
    for (const q of this.#queue.splice(0)) q.reject(error);
  }

  /** Stops every worker. Pending jobs reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const error = new Error('the data loader has been closed');
    for (const p of this.#pending.values()) p.reject(error);
    this.#pending.clear();
    for (const q of this.#queue.splice(0)) q.reject(error);
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }
}
