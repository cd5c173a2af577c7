/**
 * Probes for what used to kill the process: promises that rejected with nobody listening (a 0-byte
 * image read behind a slow one; a metrics log that cannot be written), EPIPE from a closed stdout
 * in the Ctrl-C handler (`alexnet train | tee log`), and reading back a tensor larger than one
 * typed array (a V8 fatal error). Each case runs in its own process (support/probes.ts).
 */
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { explain, prepareProbes, probeData, runProbe, tinyTrain, type ProbeCase, type ProbeData } from './support/probes';

let data: ProbeData;
beforeAll(async () => {
  prepareProbes();
  data = await probeData();
}, 120_000);

async function probe(make: () => ProbeCase): Promise<void> {
  const result = await runProbe(make());
  expect(result.outcome, explain(result)).toBe('ok');
}

describe.concurrent('no crash, no unobserved rejection', () => {
  it('a 0-byte .jpg in an image folder, loader without workers: a clear error naming the file (library)', () =>
    probe(() => ({
      name: 'empty jpg in image folder (fit, workers 0)',
      concern: 'rejection',
      script: `
        const train = await lib.ImageFolderDataset.open(${JSON.stringify(path.join(data.folderWithEmptyJpg, 'train'))}, { channels: 1, resize: 68 });
        const model = lib.createAlexNet({ preset: 'd2l', width: 0.0625, inputSize: 68, numClasses: 2, seed: 1, backend: 'cpu' });
        // One batch of every image: the empty file's read fails while the others are still decoding.
        await new lib.Trainer(model).fit(train, null, { epochs: 1, batchSize: 13, workers: 0, progress: 'none', evalTransform: [{ kind: 'centerCrop', size: 68 }], trainTransform: [{ kind: 'centerCrop', size: 68 }] });`,
      error: /zz\.jpg: cannot decode the image/,
      names: [path.join(data.folderWithEmptyJpg, 'train', 'b', 'zz.jpg')],
    })));

  it('the same through alexnet train: one line naming the file, exit 1', () =>
    probe(() => ({
      name: 'empty jpg in image folder (CLI)',
      concern: 'rejection',
      cli: [
        'train',
        '--dataset',
        'folder',
        '--data',
        data.folderWithEmptyJpg,
        '--width',
        '0.0625',
        '--input-size',
        '68',
        '--batch-size',
        '13',
        '--epochs',
        '1',
        '--backend',
        'cpu',
        '--workers',
        '0',
        '--progress',
        'epochs',
      ],
      error: /^alexnet train: .*zz\.jpg: cannot decode the image/,
      names: ['zz.jpg'],
    })));

  it('a metrics log on a full disk (--metrics /dev/full): one line with the path and ENOSPC, before any training', () =>
    probe(() => ({
      name: 'metrics log ENOSPC (CLI)',
      concern: 'rejection',
      cli: ['train', ...tinyTrain(data), '--epochs', '1', '--checkpoint-dir', 'run', '--metrics', '/dev/full'],
      error: /^alexnet train: cannot write \/dev\/full: no space left on the device \(ENOSPC\)$/,
      check: (r) => (/epoch 1\/1/.test(r.stdout) ? 'it trained an epoch before reporting the log failure' : null),
    })));

  it('a metrics log that cannot be opened (library): a FileError naming the path, no unobserved rejection', () =>
    probe(() => ({
      name: 'metrics log in a folder that is a file (fit)',
      concern: 'rejection',
      script: `
        fs.writeFileSync(path.join(tmp, 'file'), 'x');
        const ds = new lib.ArrayDataset({ images: new Uint8Array(8 * 784), labels: [0, 1, 2, 3, 0, 1, 2, 3], shape: [1, 28, 28], classes: ['a', 'b', 'c', 'd'] });
        const model = lib.createAlexNet({ preset: 'd2l', width: 0.0625, inputSize: 68, numClasses: 4, seed: 1, backend: 'cpu' });
        await new lib.Trainer(model).fit(ds, null, { epochs: 1, batchSize: 4, progress: 'none', trainTransform: [{ kind: 'resize', size: 68 }],
          metricsLog: path.join(tmp, 'file', 'metrics.jsonl') });`,
      error: /^FileError: cannot create the folder .*\/file: .*file.* is a regular file, not a folder$/,
    })));

  it('a checkpoint that cannot be written: a FileError naming the file and the cause', () =>
    probe(() => ({
      name: 'saveCheckpoint onto a folder (EISDIR)',
      concern: 'message',
      script: `
        fs.mkdirSync(path.join(tmp, 'model.safetensors'));
        const model = lib.createAlexNet({ preset: 'd2l', width: 0.0625, inputSize: 68, numClasses: 4, seed: 1, backend: 'cpu' });
        await lib.saveCheckpoint(path.join(tmp, 'model.safetensors'), model);`,
      error: /^FileError: cannot write .*model\.safetensors: it is a folder \(EISDIR\)$/,
    })));

  it('Ctrl-C on `alexnet train | tee log` (stdout closed): saves the checkpoint and exits 130, no EPIPE', () =>
    probe(() => ({
      name: 'SIGINT with a closed stdout (EPIPE)',
      concern: 'crash',
      cli: ['train', ...tinyTrain(data), '--epochs', '200', '--checkpoint-dir', 'run'],
      timeoutMs: 90_000,
      exit: 130,
      drive: (child, output) => {
        const timer = setInterval(() => {
          if (!/epoch 1\/200/.test(output())) return;
          clearInterval(timer);
          // What tee does when Ctrl-C ends it too: the pipe's reader goes away first.
          child.stdout!.destroy();
          setTimeout(() => child.kill('SIGINT'), 100);
        }, 20);
        child.on('exit', () => clearInterval(timer));
      },
      check: (r) => {
        const dir = path.join(r.folder, 'run');
        const checkpoints = existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith('checkpoint-')) : [];
        if (/EPIPE/.test(r.stderr)) return `EPIPE reached stderr: ${r.stderr}`;
        // The epoch-end checkpoint (step 13) and the one Ctrl-C asked for (a later step).
        return checkpoints.some((n) => !n.endsWith('-s000000013.safetensors'))
          ? null
          : `no checkpoint saved on SIGINT (found ${checkpoints.join(', ') || 'none'})`;
      },
    })));

  it('toArray of a tensor larger than one typed array: a RangeError, not a V8 fatal error', () =>
    probe(() => ({
      name: 'toArray beyond 2^32 elements',
      concern: 'crash',
      // A handle that claims the shape without the 16 GiB: the check must come before the download.
      script: `
        const handle = { shape: [2 ** 32 + 1], dtype: 'float32', disposed: false, download() { return Promise.reject(new Error('the download was attempted')); } };
        await new lib.Tensor(lib.getBackend('cpu'), handle).toArray();`,
      error: /RangeError: toArray: the tensor \[4294967297\] has 4,294,967,297 elements, more than one typed array can hold/,
    })));

  it('a batch larger than one typed array: a RangeError naming batchSize when the loader is made, before any image is resized', () =>
    probe(() => ({
      name: 'batch beyond 2^32 values (Invalid typed array length)',
      concern: 'message',
      script: `
        const ds = new lib.ArrayDataset({ images: new Uint8Array(70 * 784), labels: new Array(70).fill(0), shape: [1, 28, 28], classes: ['a'] });
        const loader = new lib.DataLoader(ds, { batchSize: 70, transform: [{ kind: 'resize', size: [8000, 8000] }], backend: 'cpu' });
        for await (const batch of loader.batches(0)) batch.dispose();`,
      error:
        /^RangeError: batchSize 70 with samples of shape \[1, 8000, 8000\] makes a batch of 4,480,000,000 values, more than one array can hold/,
      maxRssMb: 400,
    })));
});
