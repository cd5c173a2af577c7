/**
 * Resource bombs: small inputs that asked for gigabytes or minutes. Each must be refused before the
 * work, with a message naming the limit, and its process must stay under a memory ceiling (peak
 * RSS of the whole child, Node and the native addon included; measured values are in the summary).
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { explain, hugePng, prepareProbes, probeData, runProbe, writeIdxGz, type ProbeCase, type ProbeData } from './support/probes';

let data: ProbeData;
let png: string;
let idxBomb: string;
let idxHugeHeader: string;
beforeAll(async () => {
  prepareProbes();
  data = await probeData();
  png = await hugePng(data);
  // 1 image of 28x28 declared, 768 MiB of zeros behind it (about 0.8 MB compressed).
  idxBomb = path.join(path.dirname(data.mnist), 'bomb-images-idx3-ubyte.gz');
  await writeIdxGz(idxBomb, [1, 28, 28], 768 * 1024 * 1024);
  // A header declaring 2^31 images (1.7 TB), almost no data.
  idxHugeHeader = path.join(path.dirname(data.mnist), 'huge-images-idx3-ubyte.gz');
  await writeIdxGz(idxHugeHeader, [2 ** 31 - 1, 28, 28], 1024);
}, 180_000);

async function probe(make: () => ProbeCase): Promise<void> {
  const result = await runProbe({ timeoutMs: 30_000, ...make() });
  expect(result.outcome, explain(result)).toBe('ok');
}

/** A safetensors file holding only metadata (no tensors), as bytes in a script. */
function metadataOnlyCheckpoint(metadata: Record<string, string>): string {
  const header = JSON.stringify({ __metadata__: metadata });
  return `(() => { const h = Buffer.from(${JSON.stringify(header)}); const b = Buffer.alloc(8 + h.length); b.writeBigUInt64LE(BigInt(h.length), 0); h.copy(b, 8); return b; })()`;
}

const HUGE_MODEL = {
  format: 'pt',
  'alexnet-cuda.config': JSON.stringify({
    preset: 'torchvision',
    numClasses: 1000,
    inChannels: 3,
    inputSize: 224,
    width: 4,
    init: 'pytorch',
    seed: '1',
  }),
};

describe.concurrent('resource bombs are refused before the work', () => {
  it('a 16000x16000 PNG of 250 KB given to predict: refused from its header (maxImagePixels)', () =>
    probe(() => ({
      name: 'predict(16000x16000 PNG)',
      concern: 'bomb',
      script: `
        const model = await lib.loadModel(${JSON.stringify(data.model)}, { backend: 'cpu' });
        await lib.predict(model, ${JSON.stringify(png)});`,
      error:
        /huge\.png: the image is 16000x16000 = 256,000,000 pixels, more than the limit of 67,108,864 \(maxImagePixels; raise it with setLimits\(\{ maxImagePixels \}\) or ALEXNET_MAX_IMAGE_PIXELS\)/,
      names: [png],
      maxRssMb: 250,
    })));

  it('the same through alexnet predict: one line', () =>
    probe(() => ({
      name: 'alexnet predict 16000x16000 PNG',
      concern: 'bomb',
      cli: ['predict', '-c', data.model, png, '--backend', 'cpu'],
      error: /^alexnet predict: .*huge\.png: the image is 16000x16000 = 256,000,000 pixels, more than the limit/,
      maxRssMb: 250,
    })));

  it('the pixel limit is configurable (ALEXNET_MAX_IMAGE_PIXELS) and names its value', () =>
    probe(() => ({
      name: 'decodeImage(40x40 PNG) under a 1000-pixel limit',
      concern: 'bomb',
      env: { ALEXNET_MAX_IMAGE_PIXELS: '1000' },
      script: `await lib.decodeImage(${JSON.stringify(data.smallPng)});`,
      error: /small\.png: the image is 40x40 = 1,600 pixels, more than the limit of 1,000 \(maxImagePixels/,
    })));

  it('an IDX .gz that inflates far beyond what its header declares: stopped at the declared size', () =>
    probe(() => ({
      name: 'IDX .gz bomb (768 MiB behind a 1-image header)',
      concern: 'bomb',
      script: `await dist('data/idx.js').readIdxFile(${JSON.stringify(idxBomb)});`,
      error: /bomb-images-idx3-ubyte\.gz: inflates to more than the 800 bytes its header declares: damaged, or a decompression bomb/,
      maxRssMb: 200,
    })));

  it('an IDX .gz whose header declares 1.7 TB: refused from the header (maxDecompressedBytes)', () =>
    probe(() => ({
      name: 'IDX .gz declaring 2^31 images',
      concern: 'bomb',
      script: `await dist('data/idx.js').readIdxFile(${JSON.stringify(idxHugeHeader)});`,
      error:
        /huge-images-idx3-ubyte\.gz: its header declares 1,683,627,179,264 bytes, more than the limit of 1,073,741,824 \(maxDecompressedBytes; raise it with/,
      maxRssMb: 200,
    })));

  it('a 196-byte checkpoint claiming a 7 GB model: refused before any model memory exists', () =>
    probe(() => ({
      name: 'loadModel(tiny file, torchvision width 4)',
      concern: 'bomb',
      timeoutMs: 20_000,
      script: `
        fs.writeFileSync(path.join(tmp, 'huge.safetensors'), ${metadataOnlyCheckpoint(HUGE_MODEL)});
        await lib.loadModel(path.join(tmp, 'huge.safetensors'), { backend: 'cpu' });`,
      error: /^CheckpointError: .*huge\.safetensors: has no parameter "features\.0\.weight", which the model needs$/,
      maxRssMb: 250,
    })));

  it('the same file given to alexnet train --resume: one line, at once', () =>
    probe(() => ({
      name: 'alexnet train --resume (tiny file, huge model)',
      concern: 'bomb',
      timeoutMs: 20_000,
      cli: ['train', '--resume', path.join(path.dirname(data.model), 'huge-resume.safetensors'), '--backend', 'cpu'],
      ...hugeResumeFile(),
      error: /^alexnet train: .*huge-resume\.safetensors: has no parameter "features\.0\.weight", which the model needs$/,
      maxRssMb: 250,
    })));

  it('stored preprocessing resizing to 30000x30000: refused when the checkpoint is read', () =>
    probe(() => ({
      name: 'checkpoint with a 30000x30000 resize, then predict',
      concern: 'bomb',
      script: `
        const model = lib.createAlexNet({ preset: 'd2l', width: 0.0625, inputSize: 68, numClasses: 4, seed: 1, backend: 'cpu' });
        const file = path.join(tmp, 'm.safetensors');
        await lib.saveCheckpoint(file, model, { preprocessing: [{ kind: 'resize', size: [30000, 30000] }, { kind: 'centerCrop', size: 68 }] });
        const loaded = await lib.loadModel(file, { backend: 'cpu' });
        await lib.predict(loaded, ${JSON.stringify(data.smallPng)});`,
      error:
        /m\.safetensors: the stored preprocessing is invalid \(transforms\[0\]: resize: the output is 30000x30000 = 900,000,000 pixels, more than the limit of 67,108,864 \(maxImagePixels/,
      maxRssMb: 300,
    })));

  it('conv2d with padding 3000 on an 8x8 input: a RangeError at once, not a minute of work', () =>
    probe(() => ({
      name: 'ops.conv2d padding 3000',
      concern: 'bomb',
      timeoutMs: 15_000,
      script: `
        const x = lib.Tensor.zeros([1, 1, 8, 8], { backend: 'cpu' });
        const w = lib.Tensor.zeros([1, 1, 3, 3], { backend: 'cpu' });
        await lib.ops.conv2d(x, w, null, { padding: 3000 }).toArray();`,
      error: /^RangeError: conv2d: padding \(top\) must be less than the kernel height 3, got 3000$/,
      maxRssMb: 250,
    })));

  it('a Conv2d layer with padding beyond its kernel: refused when built', () =>
    probe(() => ({
      name: 'nn.Conv2d padding 3000',
      concern: 'bomb',
      timeoutMs: 15_000,
      script: `new lib.nn.Conv2d({ inChannels: 1, outChannels: 1, kernelSize: 3, padding: [3000, 1], backend: 'cpu' });`,
      error: /^RangeError: Conv2d: padding \(top\) must be less than the kernel height 3, got 3000$/,
    })));
});

/** Writes the metadata-only checkpoint the CLI resume case reads. */
function hugeResumeFile(): Record<string, never> {
  const h = Buffer.from(JSON.stringify({ __metadata__: HUGE_MODEL }));
  const b = Buffer.alloc(8 + h.length);
  b.writeBigUInt64LE(BigInt(h.length), 0);
  h.copy(b, 8);
  writeFileSync(path.join(path.dirname(data.model), 'huge-resume.safetensors'), b);
  return {};
}
