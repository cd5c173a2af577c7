/**
 * Every AlexNet preset on the device:
 *
 * 1. At full size (the preset's own input size and widths), batch 2, training mode with dropout on,
 *    against the CPU build, with the same parameters (built on the device, copied to the CPU model
 *    by name) and the same dropout masks (both models have the same seed, so their Dropout layers
 *    draw the same Philox streams). Two ways:
 *    a. layer by layer: each layer of the device model gets the CPU's input for that layer, and its
 *       backward the CPU's output gradient; its output, input gradient and parameter gradients must
 *       match within 1e-4 (fp32 reductions in another order move results by about 1e-6);
 *    b. the whole model, as training runs it (fused ReLUs, no host round trip between layers): the
 *       logits and the loss within 1e-4, every parameter gradient within 2e-2 normwise.
 * 2. At the reduced sizes of PyTorch's fixtures (test/reference/fixtures/models): logits, loss and
 *    every gradient against PyTorch, within the CPU tests' fp32 tolerance.
 *
 * Why the whole-model gradients are judged normwise: a gradient is discontinuous wherever a ReLU's
 * input or a max-pool window's top two values lie within rounding of each other. At full size
 * (millions of such decisions) a few land there, and the device's rounding can flip them; a flip
 * moves one filter's gradient by up to 10% and, through the layers below, every gradient upstream
 * by about 1e-3 normwise. Measured on the CPU alone (paper, seed-tf and torchvision as set up
 * here): perturbing the input by 1e-6 or 1e-5 relative flipped decisions in some presets and moved
 * gradients by up to 8e-3 normwise (0.27 in the worst element), and by about 1e-6 where nothing
 * flipped; the logits moved by at most 1.2e-5. So the whole model's gradients cannot be held to 1e-4
 * elementwise; 2e-2 normwise still fails for anything wrong (a wrong result is off by order 1), and
 * the layer-by-layer replay, which sees no flips because every layer gets identical inputs, holds
 * each op to 1e-4 at the real sizes.
 *
 * The paper preset uses PyTorch's default initialization here: the paper's N(0, 0.01) weights with
 * biases of 1 make nearly every max-pool window a near-tie (on the CPU alone, a 1e-6 input
 * perturbation moves its conv gradients by 2e-2 normwise). The initializers are checked by
 * fills.test.ts, which draws the same values on both backends.
 */
import { it } from 'vitest';

import { createAlexNet, PRESETS, type PresetName } from '../../lib/models/alexnet';
import type { InitScheme } from '../../lib/models/init';
import { FP32_RTOL, loadFixture } from '../helpers';
import { loadReducedPreset } from '../models/reducedPreset';
import { cpu, describeOnDevice, device } from '../support/device';
import { copyParameters, recordLayers, replayLayers, trainingPass } from './support/models';
import { checkClose, checkNormwise } from '../support/report';
import { disposeAll, disposePairs, fixtureTensor, pairFrom, randomPair } from '../support/tensors';

const BATCH = 2;
const MODEL_SEED = 2012;
const INPUT_SEED = 11;
const LAYER_TOLERANCE = 1e-4;
const LOGITS_TOLERANCE = 1e-4;
const GRADIENT_TOLERANCE_NORMWISE = 2e-2;

function initFor(preset: PresetName): InitScheme | undefined {
  return preset === 'paper' ? 'pytorch' : undefined;
}

describeOnDevice('presets at full size, batch 2, training mode: device against the CPU build', () => {
  for (const preset of PRESETS) {
    it(`${preset}: every layer on the CPU's inputs, then the whole model`, async () => {
      const dev = device();
      const options = { preset, init: initFor(preset), seed: MODEL_SEED };
      const devModel = createAlexNet({ ...options, backend: dev });
      const cpuModel = createAlexNet({ ...options, backend: cpu() });
      const { inChannels, inputSize, numClasses } = devModel.config;
      const input = await randomPair([BATCH, inChannels, inputSize, inputSize], INPUT_SEED, dev);
      const labels = pairFrom(Int32Array.from([3 % numClasses, 7 % numClasses]), [BATCH], dev);
      try {
        await copyParameters(devModel, cpuModel, cpu());

        const layers = `${preset} full size, layer by layer`;
        const records = await recordLayers(cpuModel, input.cpu, labels.cpu);
        for (const r of await replayLayers(devModel, records, dev)) {
          const what = `${preset} ${r.record.name} (${r.record.layer.kind})`;
          checkClose(layers, `${what} output`, r.output, r.record.output.data, LAYER_TOLERANCE);
          if (r.record.gradInput) checkClose(layers, `${what} input gradient`, r.gradInput ?? [], r.record.gradInput.data, LAYER_TOLERANCE);
          for (const [name, grad] of r.record.paramGrads) {
            checkClose(layers, `${preset} grad ${name}`, r.paramGrads.get(name)!, grad, LAYER_TOLERANCE);
          }
        }

        const reference = await trainingPass(cpuModel, input.cpu, labels.cpu);
        const result = await trainingPass(devModel, input.dev, labels.dev);
        const forward = `${preset} full size, whole model: logits, loss`;
        checkClose(forward, `${preset} logits`, result.logits, reference.logits, LOGITS_TOLERANCE);
        checkClose(forward, `${preset} loss`, [result.loss], [reference.loss], LOGITS_TOLERANCE);
        for (const [name, grad] of reference.grads) {
          checkNormwise(
            `${preset} full size, whole model: gradients`,
            `${preset} grad ${name}`,
            result.grads.get(name)!,
            grad,
            GRADIENT_TOLERANCE_NORMWISE,
          );
        }
      } finally {
        disposePairs(input, labels);
        devModel.dispose();
        cpuModel.dispose();
      }
    });
  }
});

describeOnDevice('reduced presets against PyTorch (fixtures, training mode, dropout on)', () => {
  for (const preset of PRESETS) {
    it(preset, async () => {
      const dev = device();
      const fixture = loadFixture(`models/${preset}`);
      // The fixture's parameters, loaded by name into a CPU model, then copied to a device model of the same configuration.
      const { model: cpuModel, config } = loadReducedPreset(fixture);
      const devModel = createAlexNet({ ...cpuModel.config, seed: BigInt(config.seed), backend: dev });
      const x = fixtureTensor(fixture.get('reduced.x'), dev);
      const labels = fixtureTensor(fixture.get('reduced.labels'), dev);
      try {
        await copyParameters(cpuModel, devModel, dev);
        const result = await trainingPass(devModel, x, labels);
        const group = 'reduced presets vs PyTorch (fp32)';
        checkClose(group, `${preset} logits`, result.logits, fixture.get('reduced.logits').data as Float32Array, FP32_RTOL);
        checkClose(group, `${preset} loss`, [result.loss], fixture.get('reduced.loss').data as Float32Array, FP32_RTOL);
        for (const [name, grad] of result.grads) {
          checkClose(group, `${preset} grad ${name}`, grad, fixture.get(`reduced.grad.${name}`).data as Float32Array, FP32_RTOL);
        }
      } finally {
        disposeAll(x, labels);
        cpuModel.dispose();
        devModel.dispose();
      }
    });
  }
});
