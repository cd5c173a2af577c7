/**
 * The bf16 math mode, op by op, on the backend under test (test/support/device.ts), against
 * PyTorch's fp32 ops on the same inputs rounded to bfloat16 (test/reference/bf16_ops.py, run live,
 * which rounds with torch's own cast).
 *
 * - roundToBfloat16 against torch's `x.to(torch.bfloat16).float()`, bit for bit: ties to even,
 *   infinities, NaN, overflow to infinity, subnormals, and values of every magnitude.
 * - conv2d (groups 2, stride 2, padding 1; with and without the fused ReLU) and linear: forward
 *   and backward-data outputs within BF16_RTOL and bfloat16-valued; weight and bias gradients
 *   fp32 (some bits below bfloat16's precision set) and within FP32_RTOL of the reference (on the
 *   CPU; see KEPT_FP32_RTOL for CUDA): they can only be that close if the op rounded its operands
 *   (input, weight, incoming gradient) first.
 * - LRN, max pooling, adaptive average pooling, ReLU and dropout (forward and backward): within
 *   BF16_RTOL and bfloat16-valued. In a model these ops read activations an earlier op rounded, so
 *   the test gives them rounded inputs.
 * - softmax cross-entropy and softmax stay fp32 (FP32_RTOL, fp32 bits in the gradient).
 * - Back in fp32, nothing is rounded.
 *
 * Tolerances: BF16_RTOL (1e-2) for what the mode rounds, FP32_RTOL (1e-4) for what stays fp32
 * (test/helpers.ts says why).
 */
import * as path from 'node:path';

import { afterAll, beforeAll, expect, it, type TestContext } from 'vitest';

import { Tensor } from '../../lib/tensor';
import {
  adaptiveAvgPool2d,
  adaptiveAvgPool2dBackward,
  conv2d,
  conv2dBackwardData,
  conv2dBackwardFilter,
  dropout,
  linear,
  linearBackwardData,
  linearBackwardWeight,
  linearReluWithMask,
  localResponseNorm,
  localResponseNormBackward,
  maxPool2d,
  maxPool2dBackward,
  multiply,
  relu,
  reluBackward,
  roundToBfloat16,
  softmax,
  softmaxCrossEntropy,
} from '../../lib/ops/index';
import type { SafetensorsArray } from '../../lib/io/safetensors';
import { BF16_RTOL, ciRequiresEverything, FP32_RTOL, TF32_RTOL } from '../helpers';
import { runTorchFile, torchAvailable } from '../python';
import { cpu, describeOnDevice, device, deviceKind } from '../support/device';
import { checkBitwise, checkTensor, checkThat } from '../support/report';
import { disposeAll } from '../support/tensors';

type Inputs = Record<string, { shape: readonly number[]; data: SafetensorsArray }>;
type Outputs = Map<string, { shape: number[]; data: SafetensorsArray }>;

/** A reference as the comparisons take it (every reference here is float32). */
function values(t: { shape: number[]; data: SafetensorsArray }): { shape: number[]; data: Float32Array } {
  return { shape: t.shape, data: t.data as Float32Array };
}

/** Shapes and standard deviations of the inputs (seeded normals, drawn on the CPU). */
const SHAPES: Record<string, [number[], number]> = {
  'conv.x': [[2, 6, 13, 13], 1],
  'conv.w': [[8, 3, 3, 3], 0.3],
  'conv.b': [[8], 0.5],
  'conv.dy': [[2, 8, 7, 7], 1],
  'linear.x': [[4, 37], 1],
  'linear.w': [[11, 37], 0.2],
  'linear.b': [[11], 0.5],
  'linear.dy': [[4, 11], 1],
  'lrn.x': [[2, 8, 5, 5], 5],
  'lrn.dy': [[2, 8, 5, 5], 1],
  'pool.x': [[2, 3, 9, 9], 1],
  'pool.dy': [[2, 3, 4, 4], 1],
  'avgpool.x': [[2, 3, 7, 7], 1],
  'avgpool.dy': [[2, 3, 3, 3], 1],
  'relu.x': [[3, 40], 1],
  'relu.dy': [[3, 40], 1],
  'dropout.x': [[3, 50], 1],
  'dropout.dy': [[3, 50], 1],
  'loss.logits': [[6, 10], 3],
};
const LRN = { size: 5, alpha: 1e-2, beta: 0.75, k: 2 };
/**
 * What stays fp32 (weight and bias gradients): FP32_RTOL on the CPU. The CUDA build runs the bf16
 * mode's convolutions in its TF32 mode, whose engines may be FFT or Winograd ones (promised 1e-2):
 * exact products of bf16 operands, but not fp32-exact sums. TODO(issue 12, device session): with
 * bf16 engines of fp32 accumulation this should meet FP32_RTOL on CUDA too.
 */
const KEPT_FP32_RTOL = deviceKind === 'cuda' ? TF32_RTOL : FP32_RTOL;
const CONV = { stride: 2, padding: 1, groups: 2 };
const DROPOUT_P = 0.5;
const DROPOUT_SEED = 77;

/** Values rounding must get right: ties both ways, the edges of the range, specials. */
function roundingCases(): Float32Array {
  const special = [
    0,
    -0,
    1,
    -1,
    1 + 2 ** -8,
    1 + 3 * 2 ** -8,
    1 + 2 ** -8 + 2 ** -20,
    -(1 + 2 ** -8),
    3.3895313892515355e38,
    3.3961775292304e38,
    3.4e38,
    -3.4e38,
    1e-40,
    -1e-45,
    2 ** -126,
    65504,
    Math.PI,
    -Math.E,
    Infinity,
    -Infinity,
    NaN,
  ];
  const values = new Float32Array(special.length + 1200);
  values.set(special);
  // Normals scaled by 10^-30 .. 10^30: every exponent region.
  let state = 12345;
  for (let i = special.length; i < values.length; i++) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const u = state / 2 ** 31;
    values[i] = (u - 0.5) * 10 ** ((i % 61) - 30);
  }
  return values;
}

async function draw(): Promise<Inputs> {
  const inputs: Inputs = {};
  let seed = 9100;
  for (const [name, [shape, std]] of Object.entries(SHAPES)) {
    const t = Tensor.normal(shape, { std, seed: seed++ }, { backend: cpu() });
    inputs[name] = { shape, data: await t.toArray() };
    t.dispose();
  }
  const rounding = roundingCases();
  inputs['round.x'] = { shape: [rounding.length], data: rounding };
  inputs['loss.labels'] = { shape: [6], data: Int32Array.from([0, 3, 9, 1, 1, 7]) };
  // The dropout mask as the backends draw it (Philox, the same on both: test/ops/dropout.test.ts).
  const x = Tensor.fromArray(inputs['dropout.x'].data as Float32Array, SHAPES['dropout.x'][0], { backend: cpu() });
  const { output, mask } = dropout(x, DROPOUT_P, DROPOUT_SEED);
  inputs['dropout.mask'] = { shape: mask.shape, data: await mask.toArray() };
  disposeAll(x, output, mask);
  return inputs;
}

/** Whether every element is a bfloat16 value (the low 16 bits of its fp32 word clear). */
function bfloat16Valued(values: Float32Array | Int32Array): boolean {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
  return words.every((w) => (w & 0xffff) === 0);
}

describeOnDevice('bf16 math mode: each op against PyTorch fp32 on bfloat16-rounded inputs', () => {
  let inputs: Inputs;
  let refs: Outputs | null = null;
  let skipReason: string | null = null;

  beforeAll(async () => {
    const torch = torchAvailable();
    if (!torch.ok) {
      if (ciRequiresEverything) throw new Error(torch.reason);
      skipReason = torch.reason;
      return;
    }
    inputs = await draw();
    refs = runTorchFile(path.join(__dirname, '..', 'reference', 'bf16_ops.py'), inputs).outputs;
    device().setMathMode('bf16');
  });
  afterAll(() => {
    if (refs) device().setMathMode('fp32');
  });

  function ready(ctx: TestContext): Outputs {
    if (!refs) ctx.skip(skipReason ?? 'no references');
    return refs;
  }
  const input = (name: string) => Tensor.fromArray(inputs[name].data as Float32Array, inputs[name].shape, { backend: device() });
  /** The input rounded to bfloat16, as the op before it in a model would leave it. */
  const rounded = (name: string) => {
    const t = input(name);
    const r = roundToBfloat16(t);
    t.dispose();
    return r;
  };
  async function rounds(group: string, name: string, t: Tensor, expected: { shape: number[]; data: SafetensorsArray }): Promise<void> {
    const got = await checkTensor(group, name, t, values(expected), BF16_RTOL);
    checkThat(group, `${name} holds bfloat16 values`, bfloat16Valued(got), 'every element has the low 16 bits of its fp32 word clear');
  }
  async function staysFp32(
    group: string,
    name: string,
    t: Tensor,
    expected: { shape: number[]; data: SafetensorsArray },
    tolerance = KEPT_FP32_RTOL,
  ): Promise<void> {
    const got = await checkTensor(group, name, t, values(expected), tolerance);
    checkThat(group, `${name} is not rounded`, !bfloat16Valued(got), 'some element has bits below bfloat16 precision');
  }

  it('roundToBfloat16 rounds as torch.bfloat16 does, bit for bit', async (ctx) => {
    const r = ready(ctx);
    const x = input('round.x');
    const y = roundToBfloat16(x);
    const got = (await y.toArray()) as Float32Array;
    const want = r.get('round.y')!.data as Float32Array;
    // A NaN must stay a NaN; which NaN is not specified (torch's own casts disagree on the bits).
    const nan = [...want.keys()].filter((i) => Number.isNaN(want[i]));
    checkThat('bf16 rounding', 'NaN stays NaN', nan.length === 1 && nan.every((i) => Number.isNaN(got[i])), `NaN at ${nan.join(', ')}`);
    const keep = (a: Float32Array) => a.filter((_, i) => !nan.includes(i));
    checkBitwise('bf16 rounding', 'roundToBfloat16 vs torch', keep(got), keep(want));
    disposeAll(x, y);
  });

  it('rejects a non-float32 input, naming it; an op given one in bf16 mode names itself', (ctx) => {
    ready(ctx);
    const labels = Tensor.fromArray(Int32Array.from([1, 2]), [2], { backend: device(), dtype: 'int32' });
    expect(() => roundToBfloat16(labels)).toThrow(/roundToBfloat16: expected a float32 input, got int32/);
    const ints = Tensor.fromArray(new Int32Array(6), [2, 3], { backend: device(), dtype: 'int32' });
    const w = Tensor.fromArray(new Float32Array(12), [4, 3], { backend: device() });
    expect(() => linear(ints, w)).toThrow(/^linearForward: input must be float32, got int32$/);
    disposeAll(labels, ints, w);
  });

  it('conv2d: outputs in bfloat16, weight and bias gradients in fp32 from rounded operands', async (ctx) => {
    const r = ready(ctx);
    const [x, w, b, dy] = ['conv.x', 'conv.w', 'conv.b', 'conv.dy'].map(input) as [Tensor, Tensor, Tensor, Tensor];
    const y = conv2d(x, w, b, CONV);
    const yRelu = conv2d(x, w, b, { ...CONV, relu: true });
    const dx = conv2dBackwardData(dy, w, x.shape, CONV);
    const { gradWeight, gradBias } = conv2dBackwardFilter(x, dy, w.shape, { ...CONV, bias: true });
    await rounds('bf16 conv2d', 'conv2d y', y, r.get('conv.y')!);
    await rounds('bf16 conv2d', 'conv2d relu(y)', yRelu, r.get('conv.y_relu')!);
    await rounds('bf16 conv2d', 'conv2d dx', dx, r.get('conv.dx')!);
    await staysFp32('bf16 conv2d', 'conv2d dw', gradWeight, r.get('conv.dw')!);
    await staysFp32('bf16 conv2d', 'conv2d db', gradBias!, r.get('conv.db')!);
    disposeAll(x, w, b, dy, y, yRelu, dx, gradWeight, gradBias);
  });

  it('linear: outputs in bfloat16, weight and bias gradients in fp32 from rounded operands', async (ctx) => {
    const r = ready(ctx);
    const [x, w, b, dy] = ['linear.x', 'linear.w', 'linear.b', 'linear.dy'].map(input) as [Tensor, Tensor, Tensor, Tensor];
    const y = linear(x, w, b);
    const yRelu = linear(x, w, b, { relu: true });
    const { output: yMasked, mask } = linearReluWithMask(x, w, b);
    const dx = linearBackwardData(dy, w);
    const { gradWeight, gradBias } = linearBackwardWeight(x, dy, { bias: true });
    await rounds('bf16 linear', 'linear y', y, r.get('linear.y')!);
    await rounds('bf16 linear', 'linear relu(y)', yRelu, r.get('linear.y_relu')!);
    await rounds('bf16 linear', 'linear relu(y) with mask', yMasked, r.get('linear.y_relu')!);
    await rounds('bf16 linear', 'linear dx', dx, r.get('linear.dx')!);
    await staysFp32('bf16 linear', 'linear dw', gradWeight, r.get('linear.dw')!);
    await staysFp32('bf16 linear', 'linear db', gradBias!, r.get('linear.db')!);
    disposeAll(x, w, b, dy, y, yRelu, yMasked, mask, dx, gradWeight, gradBias);
  });

  it('LRN: forward and backward in bfloat16', async (ctx) => {
    const r = ready(ctx);
    const [x, dy] = ['lrn.x', 'lrn.dy'].map(rounded) as [Tensor, Tensor];
    const y = localResponseNorm(x, LRN);
    const dx = localResponseNormBackward(x, y, dy, LRN);
    await rounds('bf16 lrn', 'lrn y', y, r.get('lrn.y')!);
    await rounds('bf16 lrn', 'lrn dx', dx, r.get('lrn.dx')!);
    disposeAll(x, dy, y, dx);
  });

  it('max pooling and adaptive average pooling: forward and backward in bfloat16', async (ctx) => {
    const r = ready(ctx);
    const [x, dy, ax, ady] = ['pool.x', 'pool.dy', 'avgpool.x', 'avgpool.dy'].map(rounded) as [Tensor, Tensor, Tensor, Tensor];
    const pool = { kernelSize: 3, stride: 2 };
    const y = maxPool2d(x, pool);
    const dx = maxPool2dBackward(x, y, dy, pool);
    const ay = adaptiveAvgPool2d(ax, 3);
    const adx = adaptiveAvgPool2dBackward(ady, ax.shape);
    await rounds('bf16 pool2d', 'maxPool2d y', y, r.get('pool.y')!);
    await rounds('bf16 pool2d', 'maxPool2d dx', dx, r.get('pool.dx')!);
    await rounds('bf16 pool2d', 'adaptiveAvgPool2d y', ay, r.get('avgpool.y')!);
    await rounds('bf16 pool2d', 'adaptiveAvgPool2d dx', adx, r.get('avgpool.dx')!);
    disposeAll(x, dy, ax, ady, y, dx, ay, adx);
  });

  it('ReLU and dropout: forward and backward in bfloat16', async (ctx) => {
    const r = ready(ctx);
    const [x, dy, dpx, dpdy] = ['relu.x', 'relu.dy', 'dropout.x', 'dropout.dy'].map(rounded) as [Tensor, Tensor, Tensor, Tensor];
    const y = relu(x);
    const dx = reluBackward(y, dy);
    const { output, mask } = dropout(dpx, DROPOUT_P, DROPOUT_SEED);
    const back = multiply(dpdy, mask);
    await rounds('bf16 activation', 'relu y', y, r.get('relu.y')!);
    await rounds('bf16 activation', 'relu dx', dx, r.get('relu.dx')!);
    await checkTensor(
      'bf16 dropout',
      'dropout mask (not rounded)',
      mask,
      values(inputs['dropout.mask'] as { shape: number[]; data: SafetensorsArray }),
      'bitwise',
    );
    await rounds('bf16 dropout', 'dropout y', output, r.get('dropout.y')!);
    await rounds('bf16 dropout', 'dropout dx', back, r.get('dropout.dx')!);
    disposeAll(x, dy, dpx, dpdy, y, dx, output, mask, back);
  });

  it('softmax cross-entropy and softmax stay fp32', async (ctx) => {
    const r = ready(ctx);
    const logits = input('loss.logits');
    const labels = Tensor.fromArray(inputs['loss.labels'].data as Int32Array, [6], { backend: device(), dtype: 'int32' });
    const { loss, gradLogits } = softmaxCrossEntropy(logits, labels);
    const probabilities = softmax(logits);
    await checkTensor('bf16 loss', 'loss', loss, values(r.get('loss.loss')!), FP32_RTOL);
    await staysFp32('bf16 loss', 'dlogits', gradLogits!, r.get('loss.dlogits')!, FP32_RTOL);
    await staysFp32('bf16 loss', 'softmax', probabilities, r.get('loss.softmax')!, FP32_RTOL);
    disposeAll(logits, labels, loss, gradLogits, probabilities);
  });

  it('back in fp32, nothing is rounded', async (ctx) => {
    ready(ctx);
    const dev = device();
    dev.setMathMode('fp32');
    try {
      const [x, w, b] = ['linear.x', 'linear.w', 'linear.b'].map(input) as [Tensor, Tensor, Tensor];
      const y = linear(x, w, b);
      const values = await y.toArray();
      checkThat('bf16 mode switch', 'linear y in fp32 mode', !bfloat16Valued(values), 'some element has bits below bfloat16 precision');
      disposeAll(x, w, b, y);
    } finally {
      dev.setMathMode('bf16');
    }
  });
});
