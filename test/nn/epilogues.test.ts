/**
 * The Linear, ReLU, Linear epilogue switch (lib/nn/epilogues.ts) on the CPU build: with it on, the
 * classifier's fc7, ReLU, fc8 runs through linearForwardReluMask and linearBackwardDataRelu (checked
 * by counting the calls), and training gives the same bits as with it off (the CPU computes the
 * fused ops as the unfused ones compute them); presets with a Dropout after the ReLU never use it.
 * A captured step re-captures when the switch changes.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

import { getBackend } from '../../lib/backend/backend';
import { createAlexNet, type PresetName } from '../../lib/models/alexnet';
import { linearEpilogues, setLinearEpilogues } from '../../lib/nn/epilogues';
import { SGD } from '../../lib/optim/sgd';
import { Tensor } from '../../lib/tensor';
import { TrainStepper, trainStep } from '../../lib/training/step';

const cpu = () => getBackend('cpu');

async function trainBits(preset: PresetName, epilogues: boolean, steps = 3): Promise<number[][]> {
  setLinearEpilogues(epilogues);
  const model = createAlexNet({ preset, width: 1 / 16, inputSize: 67, numClasses: 10, seed: 9, backend: 'cpu' });
  const optimizer = new SGD(
    model.namedParameters().map(([, p]) => p),
    { lr: 0.05, momentum: 0.9 },
  );
  const out: number[][] = [];
  for (let step = 0; step < steps; step++) {
    const x = Tensor.normal([3, model.config.inChannels, 67, 67], { seed: step }, { backend: cpu() });
    const labels = Tensor.fromArray([1, 2, 3], [3], { backend: cpu(), dtype: 'int32' });
    const { loss, logits } = trainStep(model, optimizer, x, labels);
    const v = (await loss.toArray()) as Float32Array;
    out.push(Array.from(new Uint32Array(v.buffer)));
    for (const t of [x, labels, loss, logits]) t.dispose();
  }
  const params = (await model.flat.values.toArray()) as Float32Array;
  out.push(Array.from(new Uint32Array(params.buffer)));
  optimizer.dispose();
  model.dispose();
  return out;
}

describe('Linear, ReLU, Linear epilogues', () => {
  afterEach(() => {
    setLinearEpilogues(false);
    vi.restoreAllMocks();
  });

  it('is off by default (ALEXNET_LINEAR_EPILOGUES=1 turns it on) and takes booleans only', () => {
    expect(linearEpilogues()).toBe(process.env.ALEXNET_LINEAR_EPILOGUES === '1');
    expect(() => setLinearEpilogues('yes' as unknown as boolean)).toThrow(/on must be a boolean/);
  });

  for (const [preset, fits] of [
    ['torchvision', true],
    ['keras-v1', true],
    ['d2l', false],
    ['paper', false],
  ] as const) {
    it(`${preset}: ${fits ? 'fc7, ReLU, fc8 run fused' : 'a Dropout after each ReLU: nothing fits'}, with the bits of the unfused path`, async () => {
      const native = cpu().native;
      const forward = vi.spyOn(native, 'linearForwardReluMask');
      const backward = vi.spyOn(native, 'linearBackwardDataRelu');
      const fused = await trainBits(preset, true);
      expect(forward).toHaveBeenCalledTimes(fits ? 3 : 0);
      expect(backward).toHaveBeenCalledTimes(fits ? 3 : 0);
      const plain = await trainBits(preset, false);
      expect(forward).toHaveBeenCalledTimes(fits ? 3 : 0);
      expect(fused).toEqual(plain);
    });
  }

  it('a captured step re-captures when the switch changes', () => {
    const model = createAlexNet({ preset: 'torchvision', width: 1 / 16, inputSize: 67, numClasses: 10, seed: 9, backend: 'cpu' });
    const optimizer = new SGD(
      model.namedParameters().map(([, p]) => p),
      { lr: 0.05 },
    );
    const stepper = new TrainStepper(model, optimizer);
    const x = Tensor.normal([2, 3, 67, 67], { seed: 1 }, { backend: cpu() });
    const labels = Tensor.fromArray([1, 2], [2], { backend: cpu(), dtype: 'int32' });
    for (let i = 0; i < 3; i++) for (const t of Object.values(stepper.step(x, labels))) t.dispose();
    expect(stepper.capture.phaseFor([x, labels])).toBe('replay');
    setLinearEpilogues(true);
    expect(stepper.capture.phaseFor([x, labels])).toBe('eager');
    for (const t of Object.values(stepper.step(x, labels))) t.dispose();
    expect(stepper.capture.graphCount).toBe(0);
    stepper.dispose();
    optimizer.dispose();
    model.dispose();
    x.dispose();
    labels.dispose();
  });
});
