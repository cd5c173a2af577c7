/**
 * Issue 13 on the device: what the CPU suite checks with the CPU build's recordings
 * (test/train/capturedTraining.test.ts), here with CUDA graphs.
 *
 * - Replayed training steps give the losses of uncaptured ones: two copies of a model, one trained
 *   with plain steps, one through TrainStepper (captured after warm-up, then replayed), with a
 *   learning-rate change and a batch-size change on the way. With deterministic algorithms every
 *   loss, the logits and the final parameters must be the same bits (the same kernels run on the
 *   same values); with the default (faster, non-deterministic) algorithms, within 1e-4 relative
 *   per step loss.
 * - The captured inference forward gives the plain forward's logits, bit for bit (deterministic).
 * - The preprocess op gives the CPU build's bits (both compute resize.ts's arithmetic in doubles
 *   without fused multiply-adds).
 * - The flat SGD kernel gives the CPU build's bits over a torchvision-sized flat buffer.
 * - The Linear, ReLU, Linear epilogues (cuBLASLt RELU_AUX_BIAS and DRELU_BGRAD) against the
 *   unfused path: 1e-5 relative (same products; the bias gradient may be summed in another order).
 * None of this has run on a GPU before (2026-11-29).
 */
import { expect, it } from 'vitest';

import { createAlexNet, type AlexNet, type PresetName } from '../../lib/models/alexnet';
import { setLinearEpilogues } from '../../lib/nn/epilogues';
import { preprocess } from '../../lib/ops/preprocess';
import { SGD } from '../../lib/optim/sgd';
import { Tensor } from '../../lib/tensor';
import { InferenceRunner, TrainStepper, trainStep } from '../../lib/training/step';
import { cpu, describeOnDevice, device } from '../support/device';
import { copyParameters } from './support/models';
import { checkBitwise, checkClose, checkThat } from '../support/report';

const GROUP = 'step graphs';
const SIZES = [16, 16, 16, 16, 16, 16, 8, 8, 8, 8, 16, 16];

function build(preset: PresetName): { model: AlexNet; optimizer: SGD } {
  const model = createAlexNet({ preset, seed: 21, backend: device() });
  const optimizer = new SGD(
    model.namedParameters().map(([, p]) => p),
    { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 },
  );
  return { model, optimizer };
}

function batch(model: AlexNet, step: number, n: number): { images: Tensor; labels: Tensor } {
  const { inChannels, inputSize, numClasses } = model.config;
  return {
    images: Tensor.normal([n, inChannels, inputSize, inputSize], { seed: 500 + step }, { backend: device() }),
    labels: Tensor.fromArray(
      Array.from({ length: n }, (_, i) => (step * 7 + i) % numClasses),
      [n],
      { backend: device(), dtype: 'int32' },
    ),
  };
}

async function replayedAgainstPlain(preset: PresetName, deterministic: boolean): Promise<void> {
  const dev = device();
  dev.setDeterministic(deterministic);
  const plain = build(preset);
  const captured = build(preset);
  await copyParameters(plain.model, captured.model, dev);
  const lines: string[] = [];
  const stepper = new TrainStepper(captured.model, captured.optimizer, { log: (l) => lines.push(l) });
  const name = `${preset}, ${deterministic ? 'deterministic' : 'default algorithms'}`;
  const plainLosses: number[] = [];
  const replayedLosses: number[] = [];
  let replays = 0;
  try {
    for (const [step, n] of SIZES.entries()) {
      if (step === 5) plain.optimizer.lr = captured.optimizer.lr = 0.005;
      const { images, labels } = batch(plain.model, step, n);
      if (stepper.capture.phaseFor([images, labels]) === 'replay') replays++;
      const a = trainStep(plain.model, plain.optimizer, images, labels);
      const b = stepper.step(images, labels);
      plainLosses.push(((await a.loss.toArray()) as Float32Array)[0]);
      replayedLosses.push(((await b.loss.toArray()) as Float32Array)[0]);
      if (deterministic && step === SIZES.length - 1) {
        checkBitwise(GROUP, `${name}: last step's logits`, await b.logits.toArray(), await a.logits.toArray());
      }
      for (const t of [a.loss, a.logits, b.loss, b.logits, images, labels]) t.dispose();
    }
    checkThat(
      GROUP,
      `${name}: captures and replays (no failed capture)`,
      lines.length === 0 && replays === 6,
      `replays ${replays}; ${lines.join('; ')}`,
    );
    if (deterministic) {
      checkBitwise(GROUP, `${name}: every step's loss`, Float32Array.from(replayedLosses), Float32Array.from(plainLosses));
      checkBitwise(
        GROUP,
        `${name}: parameters after ${SIZES.length} steps`,
        await captured.model.flat.values.toArray(),
        await plain.model.flat.values.toArray(),
      );
    } else {
      checkClose(GROUP, `${name}: every step's loss`, Float32Array.from(replayedLosses), Float32Array.from(plainLosses), 1e-4);
    }
  } finally {
    stepper.dispose();
    for (const m of [plain, captured]) {
      m.optimizer.dispose();
      m.model.dispose();
    }
    dev.setDeterministic(false);
  }
}

describeOnDevice('step graphs on the device (issue 13)', () => {
  for (const preset of ['d2l', 'torchvision', 'paper'] as const) {
    it(`${preset}: replayed training steps give the losses of plain steps (deterministic: bit for bit)`, async () => {
      await replayedAgainstPlain(preset, true);
    });
  }

  it('torchvision: replayed steps follow plain steps with the default algorithms (1e-4)', async () => {
    await replayedAgainstPlain('torchvision', false);
  });

  it('the captured inference forward gives the plain forward’s logits, batch 1 and 64', async () => {
    const dev = device();
    dev.setDeterministic(true);
    const { model, optimizer } = build('paper');
    model.eval();
    const runner = new InferenceRunner(model, { log: (l) => checkThat(GROUP, 'inference capture', false, l) });
    try {
      for (const [step, n] of [1, 1, 1, 1, 1, 64, 64, 64, 64].entries()) {
        const { images, labels } = batch(model, step, n);
        const a = model.forward(images);
        const b = runner.forward(images);
        checkBitwise(GROUP, `inference step ${step} (batch ${n})`, await b.toArray(), await a.toArray());
        for (const t of [a, b, images, labels]) t.dispose();
      }
      checkThat(GROUP, 'inference graphs captured', runner.capture.graphCount === 2, `graphs ${runner.capture.graphCount}`);
    } finally {
      runner.dispose();
      optimizer.dispose();
      model.dispose();
      dev.setDeterministic(false);
    }
  });

  it('preprocess gives the CPU build’s bits (28 to 224 grey to RGB; 32 to 20x17 normalized)', async () => {
    const cases = [
      { shape: [8, 1, 28, 28], options: { channels: 3, height: 224, width: 224 } },
      {
        shape: [8, 3, 32, 32],
        options: { channels: 3, height: 20, width: 17, normalize: { mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26] } },
      },
    ];
    for (const { shape, options } of cases) {
      const n = shape.reduce((a, b) => a * b, 1);
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 2654435761) >>> 24);
      const outs = [];
      for (const backend of [cpu(), device()]) {
        const input = Tensor.fromArray(bytes, shape, { backend, dtype: 'uint8' });
        const out = preprocess(input, options);
        outs.push(await out.toArray());
        input.dispose();
        out.dispose();
      }
      checkBitwise(GROUP, `preprocess ${shape.join('x')} -> ${options.height}x${options.width}`, outs[1], outs[0]);
    }
  });

  it('the flat SGD kernel gives the CPU build’s bits over a torchvision-sized buffer', async () => {
    const models = [
      createAlexNet({ preset: 'torchvision', seed: 3, backend: cpu() }),
      createAlexNet({ preset: 'torchvision', seed: 3, backend: device() }),
    ];
    const results: Float32Array[] = [];
    for (const model of models) {
      const optimizer = new SGD(
        model.namedParameters().map(([, p]) => p),
        { lr: 0.01, momentum: 0.9, weightDecay: 5e-4, nesterov: true },
      );
      expect(optimizer.flat).toBe(model.flat);
      for (let step = 0; step < 2; step++) {
        for (const p of model.flat.parameters) {
          const g = Tensor.normal(p.value.shape, { seed: step * 100 + p.value.size }, { backend: model.backend });
          model.backend.native.copy(p.gradTarget!.handle, g.handle);
          g.dispose();
          p.receiveGrad(p.gradTarget!);
        }
        optimizer.step();
      }
      results.push((await model.flat.values.toArray()) as Float32Array);
      optimizer.dispose();
      model.dispose();
    }
    checkBitwise(GROUP, 'flat SGD, 2 steps, Nesterov with weight decay (61.1M parameters)', results[1], results[0]);
  });

  it('the Linear, ReLU, Linear epilogues follow the unfused path (torchvision, 5 steps)', async () => {
    const losses: number[][] = [];
    for (const epilogues of [false, true]) {
      setLinearEpilogues(epilogues);
      const { model, optimizer } = build('torchvision');
      const run: number[] = [];
      for (let step = 0; step < 5; step++) {
        const { images, labels } = batch(model, step, 32);
        const { loss, logits } = trainStep(model, optimizer, images, labels);
        run.push(((await loss.toArray()) as Float32Array)[0]);
        for (const t of [loss, logits, images, labels]) t.dispose();
      }
      losses.push(run);
      optimizer.dispose();
      model.dispose();
    }
    setLinearEpilogues(false);
    checkClose(GROUP, 'epilogues on vs off: losses of 5 steps', Float32Array.from(losses[1]), Float32Array.from(losses[0]), 1e-5);
  });
});
