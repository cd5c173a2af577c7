/**
 * The PyTorch side of the benchmarks: bench/pytorch_baseline.py running as a child process in
 * `--serve` mode, answering one JSON request per line. Keeping one process alive lets the scripts
 * interleave our measurements with PyTorch's, so both see the same machine load, and pays torch's
 * import and model construction once.
 */
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import * as path from 'node:path';
import * as readline from 'node:readline';

/** A request as pytorch_baseline.py reads it. */
export interface BaselineRequest {
  task: 'train' | 'inference' | 'layers';
  preset: string;
  batch: number;
  warmup: number;
  iters: number;
  /** TF32 for matmuls and cuDNN convolutions (CUDA only). */
  tf32?: boolean;
  /** bf16 autocast with the model and inputs in channels_last (train and inference tasks). */
  bf16?: boolean;
}

/** One per-layer row as pytorch_baseline.py reports it. */
export interface BaselineLayerRow {
  name: string;
  layers: string;
  input_shape: number[];
  output_shape: number[];
  forward_ms: number[];
  backward_ms: number[] | null;
}

export interface BaselineInfo {
  torch: string;
  device: string;
  threads: number;
  gpu?: string;
  cudnn?: number;
}

const SCRIPT = path.join(__dirname, 'pytorch_baseline.py');

/** Why PyTorch cannot be used from `python`, or null when `import torch` works. */
export function torchUnavailableReason(python: string): string | null {
  const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.error) return `${python} could not be run: ${probe.error.message}`;
  if (probe.status !== 0) {
    const last = probe.stderr.trim().split('\n').at(-1) ?? '';
    return `${python} cannot import torch (${last}); set PYTHONPATH to where torch is installed`;
  }
  return null;
}

/** A running pytorch_baseline.py --serve. Requests are answered in order. */
export class PyTorchBaseline {
  readonly #child: ChildProcessByStdio<Writable, Readable, null>;
  readonly #pending: { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }[] = [];
  #exited: Error | null = null;

  constructor(python: string, device: 'cpu' | 'cuda', threads?: number) {
    const args = [SCRIPT, '--serve', '--device', device];
    if (threads !== undefined) args.push('--threads', String(threads));
    this.#child = spawn(python, args, { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
    readline.createInterface({ input: this.#child.stdout }).on('line', (line) => {
      const waiter = this.#pending.shift();
      if (!waiter) return;
      try {
        const reply = JSON.parse(line) as Record<string, unknown>;
        if (reply.ok) waiter.resolve(reply);
        else waiter.reject(new Error(`pytorch_baseline.py: ${String(reply.error)}`));
      } catch {
        waiter.reject(new Error(`pytorch_baseline.py printed something that is not JSON: ${line.slice(0, 200)}`));
      }
    });
    const fail = (error: Error) => {
      this.#exited = error;
      for (const waiter of this.#pending.splice(0)) waiter.reject(error);
    };
    this.#child.on('error', (error) => fail(new Error(`pytorch_baseline.py could not start: ${error.message}`)));
    this.#child.on('exit', (code, signal) =>
      fail(new Error(`pytorch_baseline.py exited (${signal ?? `code ${code}`}); see its messages above`)),
    );
  }

  #ask(request: object): Promise<Record<string, unknown>> {
    if (this.#exited) return Promise.reject(this.#exited);
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve, reject });
      this.#child.stdin.write(`${JSON.stringify(request)}\n`);
    });
  }

  async info(): Promise<BaselineInfo> {
    return (await this.#ask({ task: 'info' })) as unknown as BaselineInfo;
  }

  /** Milliseconds per timed iteration of a training step or an inference pass. */
  async step(request: BaselineRequest & { task: 'train' | 'inference' }): Promise<number[]> {
    return (await this.#ask(request)).samples_ms as number[];
  }

  async layers(request: BaselineRequest & { task: 'layers' }): Promise<BaselineLayerRow[]> {
    return (await this.#ask(request)).rows as BaselineLayerRow[];
  }

  /** Ends the child (closing its stdin ends its loop). */
  close(): void {
    if (!this.#exited) {
      this.#child.removeAllListeners('exit');
      this.#child.stdin.end();
    }
  }
}
