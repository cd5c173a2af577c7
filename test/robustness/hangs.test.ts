/**
 * Probes for what used to hang: reading a FIFO, a device or a folder as a checkpoint, dataset,
 * image, PyTorch file or metrics log (each blocked one of libuv's four threads, or read without
 * end; four FIFO loads blocked every later file read, toArray and even process exit), and a
 * checkpoint folder under /proc (Node's recursive mkdir spins there forever).
 */
import { symlinkSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { explain, prepareProbes, probeData, runProbe, tinyTrain, type ProbeCase, type ProbeData } from './support/probes';

let data: ProbeData;
beforeAll(async () => {
  prepareProbes();
  data = await probeData();
}, 120_000);

async function probe(make: () => ProbeCase): Promise<void> {
  const result = await runProbe({ timeoutMs: 15_000, ...make() });
  expect(result.outcome, explain(result)).toBe('ok');
}

describe.concurrent('no hang: only regular files are read', () => {
  it('a FIFO as a checkpoint: a clear error at once', () =>
    probe(() => ({
      name: 'loadModel(FIFO)',
      concern: 'hang',
      script: `await lib.loadModel(${JSON.stringify(data.fifo)});`,
      error: /^CheckpointError: cannot read .*fifo: it is a FIFO \(named pipe\), not a regular file$/,
      names: [data.fifo],
    })));

  it('a link to /dev/zero as a checkpoint: a clear error at once, nothing read', () =>
    probe(() => ({
      name: 'loadModel(link to /dev/zero)',
      concern: 'hang',
      script: `
        fs.symlinkSync('/dev/zero', path.join(tmp, 'zero.safetensors'));
        await lib.loadModel(path.join(tmp, 'zero.safetensors'));`,
      error: /^CheckpointError: cannot read .*zero\.safetensors: it is a character device, not a regular file$/,
      maxRssMb: 300,
    })));

  it('a folder as a checkpoint: a clear error', () =>
    probe(() => ({
      name: 'readCheckpoint(folder)',
      concern: 'hang',
      script: `await lib.readCheckpoint(tmp);`,
      error: /^CheckpointError: cannot read .*: it is a folder, not a regular file$/,
    })));

  it("four FIFO loads do not exhaust libuv's pool: toArray and exit still work", () =>
    probe(() => ({
      name: 'four FIFO loads, then toArray and exit',
      concern: 'hang',
      script: `
        const loads = await Promise.allSettled([0, 1, 2, 3].map(() => lib.loadModel(${JSON.stringify(data.fifo)})));
        if (loads.some((l) => l.status !== 'rejected')) throw new Error('a FIFO load did not fail');
        const values = await lib.Tensor.fromArray([1, 2, 3], [3], { backend: 'cpu' }).toArray();
        const back = await fs.promises.readFile(${JSON.stringify(data.smallPng)});
        if (values[2] !== 3 || back.length === 0) throw new Error('wrong values after the FIFO loads');
        console.log('after the loads: toArray and readFile work');`,
      stdout: /after the loads: toArray and readFile work/,
    })));

  it('a FIFO as an image to predict: a clear error naming it', () =>
    probe(() => ({
      name: 'predict(FIFO image)',
      concern: 'hang',
      script: `
        const model = await lib.loadModel(${JSON.stringify(data.model)}, { backend: 'cpu' });
        await lib.predict(model, ${JSON.stringify(data.fifo)});`,
      error: /^DatasetFormatError: cannot read .*fifo: it is a FIFO \(named pipe\), not a regular file$/,
    })));

  it('a FIFO as an IDX file: a clear error naming it', () =>
    probe(() => ({
      name: 'loadIdxDataset(FIFO)',
      concern: 'hang',
      script: `await lib.loadIdxDataset(${JSON.stringify(data.fifo)}, ${JSON.stringify(data.fifo)});`,
      error: /^DatasetFormatError: cannot read .*fifo: it is a FIFO/,
    })));

  it('alexnet import of a FIFO: one line', () =>
    probe(() => ({
      name: 'alexnet import FIFO',
      concern: 'hang',
      cli: ['import', data.fifo, '-o', 'out.safetensors'],
      error: /^alexnet import: cannot read .*fifo: it is a FIFO \(named pipe\), not a regular file$/,
    })));

  it('alexnet eval --checkpoint on a FIFO: one line', () =>
    probe(() => ({
      name: 'alexnet eval FIFO checkpoint',
      concern: 'hang',
      cli: ['eval', '--checkpoint', data.fifo, '--backend', 'cpu'],
      error: /^alexnet eval: cannot read .*fifo: it is a FIFO/,
    })));

  it('a FIFO named like a checkpoint in a folder being resumed: one line', () =>
    probe(() => ({
      name: 'alexnet train --resume folder with a FIFO checkpoint',
      concern: 'hang',
      cli: ['train', '--resume', 'run', '--backend', 'cpu'],
      ...fifoFolder(),
      error: /^alexnet train: cannot read .*checkpoint-e0001-s000000013\.safetensors: it is a FIFO/,
    })));

  it('a FIFO as the metrics log: a clear error at once (no reader), not a blocked open', () =>
    probe(() => ({
      name: 'alexnet train --metrics FIFO',
      concern: 'hang',
      cli: ['train', ...tinyTrain(data), '--epochs', '1', '--checkpoint-dir', 'run', '--metrics', data.fifo],
      error: /^alexnet train: cannot write .*fifo: no reader at the other end \(ENXIO\)$/,
    })));

  it('a checkpoint folder under /proc: one line naming it, no endless mkdir', () =>
    probe(() => ({
      name: 'alexnet train --checkpoint-dir /proc/...',
      concern: 'hang',
      cli: ['train', ...tinyTrain(data), '--epochs', '1', '--checkpoint-dir', '/proc/alexnet-probe/run'],
      error: /^alexnet train: cannot create the folder \/proc\/alexnet-probe: no such file or folder \(ENOENT\)$/,
    })));
});

/** A working folder holding run/checkpoint-e0001-s000000013.safetensors as a FIFO. */
function fifoFolder(): { cwd: string } {
  const cwd = path.join(path.dirname(data.fifo), `fifo-run-${process.pid}`);
  mkdirSync(path.join(cwd, 'run'), { recursive: true });
  try {
    symlinkSync(data.fifo, path.join(cwd, 'run', 'checkpoint-e0001-s000000013.safetensors'));
  } catch {
    // made by an earlier call
  }
  return { cwd };
}
