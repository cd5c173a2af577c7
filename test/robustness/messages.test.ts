/**
 * Messages (issue 10, item 9): every mistake gets one line naming the parameter or file and what
 * was expected; options objects reject unknown keys (a misspelt `numClass: 5` used to give 10
 * classes without a word); CLI numbers may be negative (parseArgs said "argument is ambiguous").
 */
import * as path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { saveCheckpoint } from '../../lib/checkpoint/format';
import { createAlexNet } from '../../lib/models/alexnet';
import { explain, prepareProbes, probeData, runProbe, type ProbeCase, type ProbeData } from './support/probes';

let damagedSettings: string;
let model: string;
beforeAll(async () => {
  prepareProbes();
  const data: ProbeData = await probeData();
  model = data.model;
  // A model file whose stored alexnet train settings are cut short.
  damagedSettings = path.join(path.dirname(data.model), 'damaged-settings.safetensors');
  const tiny = createAlexNet({ preset: 'd2l', width: 0.0625, inputSize: 68, numClasses: 4, seed: 1, backend: 'cpu' });
  await saveCheckpoint(damagedSettings, tiny, { metadata: { 'alexnet-cuda.cli': '{"dataset": mnist' } });
  tiny.dispose();
}, 120_000);

async function probe(make: () => Omit<ProbeCase, 'concern'>): Promise<void> {
  const result = await runProbe({ timeoutMs: 30_000, concern: 'message', ...make() });
  expect(result.outcome, explain(result)).toBe('ok');
}

const TINY = `lib.createAlexNet({ preset: 'd2l', width: 0.0625, inputSize: 68, numClasses: 4, seed: 1, backend: 'cpu' })`;
const DS = `new lib.ArrayDataset({ images: new Uint8Array(8 * 784), labels: [0, 1, 2, 3, 0, 1, 2, 3], shape: [1, 28, 28], classes: ['a', 'b', 'c', 'd'] })`;

describe.concurrent('CLI messages: one line, naming the flag', () => {
  const cases: [string, string[], RegExp][] = [
    ['negative --epochs', ['train', '--epochs', '-5'], /^alexnet train: --epochs must be at least 1, got -5$/],
    ['negative --lr', ['train', '--lr', '-1e-3'], /^alexnet train: --lr must be at least 0, got -0\.001$/],
    ['negative -k (short flag)', ['predict', '-c', '@MODEL', '-k', '-2', 'a.png'], /^alexnet predict: --topk must be at least 1, got -2$/],
    [
      '--resume with --overwrite',
      ['train', '--resume', 'x', '--overwrite'],
      /^alexnet train: --resume continues a run and --overwrite starts a new one: give one of them$/,
    ],
  ];
  for (const [name, cli, error] of cases) {
    it(name, () => probe(() => ({ name: `CLI ${name}`, cli: cli.map((a) => (a === '@MODEL' ? model : a)), error, exit: 2 })));
  }

  it('a missing dataset: one line that still says how to get it', () =>
    probe(() => ({
      name: 'CLI missing Fashion-MNIST',
      cli: ['train', '--data', '/nonexistent/fashion'],
      error: /^alexnet train: Fashion-MNIST was not found.*apt-get install dataset-fashion-mnist/,
    })));

  it('a checkpoint whose stored CLI settings are not JSON: names the file (alexnet eval)', () =>
    probe(() => ({
      name: 'CLI eval, damaged stored settings',
      cli: ['eval', '--checkpoint', damagedSettings, '--backend', 'cpu'],
      error: /^alexnet eval: .*damaged-settings\.safetensors: its stored settings \(alexnet-cuda\.cli\) are not valid JSON \(.*\)$/,
    })));
});

describe.concurrent('library messages name the file', () => {
  it("a dtype named __proto__ in a safetensors file: 'unsupported dtype', not 'do not hold NaN bytes'", () =>
    probe(() => ({
      name: 'safetensors dtype __proto__',
      script: `
        const header = Buffer.from(JSON.stringify({ w: { dtype: '__proto__', shape: [1], data_offsets: [0, 4] } }));
        const bytes = Buffer.concat([Buffer.alloc(8), header, Buffer.alloc(4)]);
        bytes.writeBigUInt64LE(BigInt(header.length), 0);
        fs.writeFileSync(path.join(tmp, 'proto.safetensors'), bytes);
        await lib.readCheckpoint(path.join(tmp, 'proto.safetensors'));`,
      error: /proto\.safetensors: tensor "w" has unsupported dtype "__proto__"$/,
    })));

  it('a resumed checkpoint whose dropout state is not a number: names the file and the layer (was a bare BigInt SyntaxError)', () =>
    probe(() => ({
      name: 'resume with a damaged dropout state',
      script: `
        const ds = ${DS};
        const fit = { epochs: 2, batchSize: 4, progress: 'none', trainTransform: [{ kind: 'resize', size: 68 }], handleSignals: false };
        const dir = path.join(tmp, 'run');
        await new lib.Trainer(${TINY}).fit(ds, null, { ...fit, checkpointDir: dir, stopAfterSteps: 1 });
        const file = path.join(dir, fs.readdirSync(dir).find((n) => n.startsWith('checkpoint-')));
        const st = dist('io/safetensors.js');
        const decoded = st.decodeSafetensors(fs.readFileSync(file));
        const training = JSON.parse(decoded.metadata['alexnet-cuda.training']);
        training.dropout[Object.keys(training.dropout)[0]].offset = 'twelve';
        decoded.metadata['alexnet-cuda.training'] = JSON.stringify(training);
        fs.writeFileSync(file, st.encodeSafetensors(Object.fromEntries(decoded.tensors), decoded.metadata));
        await new lib.Trainer(${TINY}).fit(ds, null, { ...fit, resume: file });`,
      error:
        /checkpoint-e0000-s000000001\.safetensors: the state of dropout layer "classifier\.\d+" is invalid \(Dropout\.setState: offset must be a decimal string/,
    })));
});

describe.concurrent('unknown option keys are errors naming the key (and the near miss)', () => {
  const cases: [string, string, RegExp][] = [
    [
      'createAlexNet',
      `lib.createAlexNet({ preset: 'd2l', numClass: 5 })`,
      /AlexNet options: unknown option "numClass" \(did you mean "numClasses"\?\)/,
    ],
    [
      'Trainer.fit',
      `await new lib.Trainer(${TINY}).fit(${DS}, null, { epochs: 1, batchSize: 4, epoch: 3 })`,
      /fit options: unknown option "epoch" \(did you mean "epochs"\?\)/,
    ],
    [
      'Trainer.evaluate',
      `await new lib.Trainer(${TINY}).evaluate(${DS}, { batchsize: 4 })`,
      /evaluate options: unknown option "batchsize" \(did you mean "batchSize"\?\)/,
    ],
    [
      'DataLoader',
      `new lib.DataLoader(${DS}, { batchSize: 4, suffle: true })`,
      /DataLoader options: unknown option "suffle" \(did you mean "shuffle"\?\)/,
    ],
    [
      'SGD',
      `new lib.SGD(${TINY}.namedParameters().map(([, p]) => p), { lr: 0.1, momentun: 0.9 })`,
      /SGD options: unknown option "momentun" \(did you mean "momentum"\?\)/,
    ],
    [
      'predict',
      `await lib.predict(${TINY}, ${JSON.stringify('x.png')}, { topK: 3 })`,
      /predict options: unknown option "topK" \(did you mean "topk"\?\)/,
    ],
    [
      'transform spec',
      `new lib.transforms.Pipeline([{ kind: 'resize', sizes: 68 }])`,
      /transforms\[0\]: resize spec: unknown option "sizes" \(did you mean "size"\?\)/,
    ],
    [
      'ImageFolderDataset',
      `await lib.ImageFolderDataset.open(tmp, { channel: 1 })`,
      /ImageFolderDataset options: unknown option "channel" \(did you mean "channels"\?\)/,
    ],
    [
      'loadModel',
      `await lib.loadModel('x.safetensors', { strcit: false })`,
      /loadModel options: unknown option "strcit" \(did you mean "strict"\?\)/,
    ],
    [
      'saveCheckpoint',
      `await lib.saveCheckpoint(path.join(tmp, 'm.safetensors'), ${TINY}, { classs: ['a', 'b', 'c', 'd'] })`,
      /checkpoint contents: unknown option "classs" \(did you mean "classes"\?\)/,
    ],
    [
      'decodeImage',
      `await lib.decodeImage(${JSON.stringify('x.png')}, { channel: 1 })`,
      /decodeImage options: unknown option "channel" \(did you mean "channels"\?\)/,
    ],
    [
      'loadFashionMnist',
      `await lib.loadFashionMnist('train', { dowload: true })`,
      /Fashion-MNIST options: unknown option "dowload" \(did you mean "download"\?\)/,
    ],
    ['CheckpointDirectory', `new lib.CheckpointDirectory(tmp, { keep: 2 })`, /CheckpointDirectory options: unknown option "keep"/],
    ['setLimits', `lib.setLimits({ maxPixels: 10 })`, /setLimits: unknown option "maxPixels"/],
    [
      'nn.Conv2d',
      `new lib.nn.Conv2d({ inChannels: 1, outChannels: 1, kernelSize: 3, stride: 1, pad: 1 })`,
      /Conv2d config: unknown option "pad"/,
    ],
    [
      'ops.conv2d',
      `lib.ops.conv2d(lib.Tensor.zeros([1, 1, 4, 4]), lib.Tensor.zeros([1, 1, 3, 3]), null, { pading: 1 })`,
      /conv2d options: unknown option "pading" \(did you mean "padding"\?\)/,
    ],
    ['stepLR', `lib.stepLR({ stepsize: 3 })`, /stepLR options: unknown option "stepsize" \(did you mean "stepSize"\?\)/],
  ];
  for (const [name, call, error] of cases) {
    it(name, () => probe(() => ({ name: `unknown key: ${name}`, script: `process.env.ALEXNET_BACKEND = 'cpu'; ${call};`, error })));
  }
});
