/**
 * SGD with parameter groups, Adam and AdamW on the backend under test (test/support/device.ts)
 * against torch.optim run live (test/reference/optim_reference.py, float64), ten steps with a
 * learning-rate schedule (each group's initial rate times 1, 0.5, 0.25 over the steps), on:
 *
 * - a small parameter set of separate tensors (odd sizes no vector width divides), which the
 *   multi-tensor paths update;
 * - the same set in flat buffers (lib/nn/flatParameters.ts), one pass per run;
 * - a reduced AlexNet (torchvision preset at 1/32 width, 64x64, 58k parameters), its flat buffers
 *   split into two parameter groups (features, classifier).
 *
 * Cases: SGD with two groups (momentum and weight decay in one, Nesterov in the other), Adam with
 * default options, Adam with weight decay and other betas, AdamW with and without weight decay,
 * Adam with per-group betas, eps and weight decay (beta1 0.3 takes lerp's other formula), and
 * AdamW with frozen parameters (requiresGrad false: no update, no state; torch skips them as they
 * have no gradient). Parameters after steps 1, 5 and 10 and every state tensor at the end.
 *
 * In the GPU suite the same cases also run on the CPU build and the device's results are compared
 * with it (the CUDA kernels against the checked CPU ones, where PyTorch is not installed).
 *
 * Tolerance: 1e-5 relative (compareArrays: relative to the tensor's RMS where elements are small);
 * float32 elementwise arithmetic against float64 torch, with no reductions (measured on the CPU
 * build: at most 6.2e-7 for SGD, 5.1e-7 for Adam, 5.8e-7 for AdamW; the CPU build against itself
 * in a rehearsal of the GPU suite: 0).
 */
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import type { Backend } from '../../lib/backend/backend';
import { createAlexNet, type AlexNet } from '../../lib/models/alexnet';
import { FlatParameters } from '../../lib/nn/flatParameters';
import { Parameter } from '../../lib/nn/index';
import { Adam, type AdamOptions } from '../../lib/optim/adam';
import { AdamW } from '../../lib/optim/adamw';
import type { Optimizer } from '../../lib/optim/optimizer';
import { SGD, type SgdOptions } from '../../lib/optim/sgd';
import { Tensor } from '../../lib/tensor';
import { ciRequiresEverything } from '../helpers';
import { runTorchFile, torchAvailable } from '../python';
import { cpu, describeDeviceOnly, describeOnDevice, device, onDevice } from '../support/device';
import { checkTensor } from '../support/report';

const SCRIPT = join(__dirname, '..', 'reference', 'optim_reference.py');
const STEPS = 10;
const LR_FACTORS = [1, 1, 1, 1, 1, 0.5, 0.5, 0.25, 0.25, 0.25];
const CHECKED_STEPS = [0, 4, 9];
const RTOL = 1e-5;

type Options = Partial<SgdOptions & AdamOptions>;
interface Case {
  name: string;
  type: 'sgd' | 'adam' | 'adamw';
  defaults: Options;
  /** Per parameter set: groups as index lists of the set's parameters ('a' the first part, 'b' the rest). */
  groups: { part: 'a' | 'b' | 'all'; options?: Options }[];
  /** Frozen parameters: the set's first `frozen` parameters. */
  frozen?: number;
}

const CASES: Case[] = [
  {
    name: 'sgd_groups',
    type: 'sgd',
    defaults: { lr: 0.01, momentum: 0.8 },
    groups: [
      { part: 'a', options: { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 } },
      { part: 'b', options: { nesterov: true } },
    ],
  },
  { name: 'adam', type: 'adam', defaults: {}, groups: [{ part: 'all' }] },
  { name: 'adam_wd', type: 'adam', defaults: { lr: 0.01, betas: [0.8, 0.99], weightDecay: 0.01 }, groups: [{ part: 'all' }] },
  { name: 'adamw', type: 'adamw', defaults: { lr: 0.01, weightDecay: 0.1 }, groups: [{ part: 'all' }] },
  { name: 'adamw_wd0', type: 'adamw', defaults: { lr: 0.003, weightDecay: 0 }, groups: [{ part: 'all' }] },
  {
    name: 'adam_groups',
    type: 'adam',
    defaults: { lr: 0.002 },
    groups: [
      { part: 'a', options: { lr: 0.02, betas: [0.3, 0.9], eps: 1e-6, weightDecay: 0.05 } },
      { part: 'b', options: { betas: [0.95, 0.999] } },
    ],
  },
  { name: 'adamw_frozen', type: 'adamw', defaults: { lr: 0.01 }, groups: [{ part: 'all' }], frozen: 2 },
];

/** torch.optim's names for our options. */
function torchOptions(o: Options = {}): Record<string, unknown> {
  const names: Record<string, string> = { weightDecay: 'weight_decay' };
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [names[k] ?? k, v]));
}

interface ParamSet {
  name: string;
  shapes: number[][];
  /** Where part 'a' ends (parameters [0, split) are 'a'). */
  split: number;
  /** Makes the parameters on `backend`, with the given initial values. */
  make(backend: Backend, initial: Float32Array[]): { params: Parameter[]; dispose(): void };
}

const SMALL_SHAPES = [[5, 3], [7], [1001], [2, 3, 2, 2], [64]];

function separate(backend: Backend, initial: Float32Array[], shapes: number[][]): Parameter[] {
  return shapes.map((s, i) => new Parameter(`p${i}`, Tensor.fromArray(initial[i], s, { backend })));
}

const REDUCED = { preset: 'torchvision', width: 1 / 32, inputSize: 64, numClasses: 10, seed: 20260 } as const;
let reducedShapes: number[][] = [];

const SETS: ParamSet[] = [
  {
    name: 'small',
    shapes: SMALL_SHAPES,
    split: 2,
    make(backend, initial) {
      const params = separate(backend, initial, SMALL_SHAPES);
      return { params, dispose: () => params.forEach((p) => p.dispose()) };
    },
  },
  {
    name: 'small_flat',
    shapes: SMALL_SHAPES,
    split: 2,
    make(backend, initial) {
      const params = separate(backend, initial, SMALL_SHAPES);
      const flat = FlatParameters.adopt(params);
      return { params, dispose: () => (params.forEach((p) => p.dispose()), flat.dispose()) };
    },
  },
  {
    name: 'alexnet',
    get shapes() {
      return reducedShapes;
    },
    split: 10, // features' five convolutions, then the classifier
    make(backend, initial) {
      const model: AlexNet = createAlexNet({ ...REDUCED, backend });
      const params = model.namedParameters().map(([, p]) => p);
      params.forEach((p, i) => p.set(Tensor.fromArray(initial[i], p.value.shape, { backend })));
      return { params, dispose: () => model.dispose() };
    },
  },
];

const initialValues = new Map<string, Float32Array[]>();
const gradients = new Map<string, Float32Array[][]>();
let reference: Map<string, { shape: number[]; data: Float32Array }> | null = null;
let skipReason: string | null = null;

async function hostNormal(shape: number[], seed: number, scale = 1): Promise<Float32Array> {
  const t = Tensor.normal(shape, { seed, std: scale }, { backend: cpu() });
  const values = await t.toArray();
  t.dispose();
  return values;
}

function groupIndices(set: ParamSet, part: 'a' | 'b' | 'all'): number[] {
  const all = set.shapes.map((_, i) => i);
  return part === 'all' ? all : part === 'a' ? all.slice(0, set.split) : all.slice(set.split);
}

function makeOptimizer(c: Case, set: ParamSet, params: Parameter[]): Optimizer {
  const groups = c.groups.map((g) => ({ params: groupIndices(set, g.part).map((i) => params[i]), ...g.options }));
  const input = groups.length === 1 && !c.groups[0].options ? groups[0].params : groups;
  if (c.type === 'sgd') return new SGD(input, c.defaults as SgdOptions);
  return c.type === 'adam' ? new Adam(input, c.defaults) : new AdamW(input, c.defaults);
}

/** Runs a case on `backend`; `check(step, params, optimizer)` after each step. */
async function runCase(
  c: Case,
  set: ParamSet,
  backend: Backend,
  check: (step: number, params: Parameter[], optimizer: Optimizer) => Promise<void>,
): Promise<void> {
  const key = `${c.name}.${set.name}`;
  const made = set.make(backend, initialValues.get(set.name)!);
  const params = made.params;
  // Frozen before the optimizer is made, as fine-tuning does: they never get state.
  for (let i = 0; i < (c.frozen ?? 0); i++) params[i].requiresGrad = false;
  const optimizer = makeOptimizer(c, set, params);
  try {
    for (let step = 0; step < STEPS; step++) {
      for (const [i, p] of params.entries()) {
        const g = Tensor.fromArray(gradients.get(key)![step][i], p.value.shape, { backend });
        const target = p.gradTarget;
        if (target) {
          backend.native.copy(target.handle, g.handle); // where backward writes a flat parameter's gradient
          g.dispose();
          p.receiveGrad(target);
        } else {
          p.setGrad(g);
        }
      }
      optimizer.scaleLr(LR_FACTORS[step]);
      optimizer.step();
      await check(step, params, optimizer);
    }
  } finally {
    optimizer.dispose();
    made.dispose();
  }
}

beforeAll(async () => {
  const probe = createAlexNet({ ...REDUCED, backend: cpu() });
  reducedShapes = probe.namedParameters().map(([, p]) => [...p.value.shape]);
  probe.dispose();
  for (const [s, set] of SETS.entries()) {
    initialValues.set(set.name, await Promise.all(set.shapes.map((shape, i) => hostNormal(shape, 1000 * s + i, 0.1))));
  }
  for (const [k, c] of CASES.entries()) {
    for (const [s, set] of SETS.entries()) {
      const steps: Float32Array[][] = [];
      for (let step = 0; step < STEPS; step++) {
        steps.push(await Promise.all(set.shapes.map((shape, i) => hostNormal(shape, 100_000 * (k + 1) + 1000 * step + 100 * s + i))));
      }
      gradients.set(`${c.name}.${set.name}`, steps);
    }
  }
  const torch = torchAvailable();
  if (!torch.ok) {
    // Each comparison with torch then skips (fails in CI on the CPU build); the device's comparison
    // with the CPU build, which needs no PyTorch, still runs.
    skipReason = torch.reason;
    return;
  }
  const inputs: Parameters<typeof runTorchFile>[1] = {};
  const cases: object[] = [];
  for (const c of CASES) {
    for (const set of SETS) {
      const key = `${c.name}.${set.name}`;
      set.shapes.forEach((shape, i) => {
        inputs[`${key}.p${i}.initial`] = { shape, data: initialValues.get(set.name)![i] };
        for (let step = 0; step < STEPS; step++) inputs[`${key}.p${i}.grad${step}`] = { shape, data: gradients.get(key)![step][i] };
      });
      cases.push({
        name: key,
        type: c.type,
        defaults: torchOptions(c.defaults),
        groups: c.groups.map((g) => ({ params: groupIndices(set, g.part), options: torchOptions(g.options) })),
        steps: STEPS,
        frozen: Array.from({ length: c.frozen ?? 0 }, (_, i) => i),
        lrFactors: LR_FACTORS,
      });
    }
  }
  const { outputs } = runTorchFile(SCRIPT, inputs, { cases: JSON.stringify(cases) });
  reference = new Map([...outputs].map(([k, v]) => [k, { shape: v.shape, data: v.data as Float32Array }]));
}, 120_000);

afterAll(() => {
  initialValues.clear();
  gradients.clear();
});

const SLOTS = { sgd: ['momentum_buffer'], adam: ['exp_avg', 'exp_avg_sq'], adamw: ['exp_avg', 'exp_avg_sq'] };

describeOnDevice('SGD with groups, Adam and AdamW against torch.optim (10 steps, live)', () => {
  for (const set of SETS) {
    for (const c of CASES) {
      it(`${c.name} on ${set.name}`, async (ctx) => {
        if (skipReason) {
          if (ciRequiresEverything && !onDevice) throw new Error(skipReason);
          ctx.skip(skipReason);
        }
        const key = `${c.name}.${set.name}`;
        const want = (role: string) => {
          const t = reference!.get(`${key}.${role}`);
          if (!t) throw new Error(`optim_reference.py wrote no ${key}.${role}`);
          return t;
        };
        let initial: Float32Array[] | null = null;
        await runCase(c, set, device(), async (step, params, optimizer) => {
          initial ??= initialValues.get(set.name)!;
          if (!CHECKED_STEPS.includes(step)) return;
          for (const [i, p] of params.entries()) {
            await checkTensor(`${c.type} vs torch.optim`, `${key} step ${step + 1} p${i}`, p.value, want(`p${i}.after${step}`), RTOL);
          }
          if (step !== STEPS - 1) return;
          for (const [i, p] of params.entries()) {
            const state = optimizer.stateOf(p);
            if (i < (c.frozen ?? 0)) {
              expect(state, `${key}: frozen p${i} has no state`).toBeNull();
              expect(Array.from((await p.value.toArray()) as Float32Array), `${key}: frozen p${i} unchanged`).toEqual(
                Array.from(initial[i]),
              );
              continue;
            }
            const slots =
              c.type === 'sgd'
                ? (optimizer.groups.find((g) => g.params.includes(p))!.options as { momentum: number }).momentum > 0
                  ? SLOTS.sgd
                  : []
                : SLOTS[c.type];
            expect(Object.keys(state ?? {}).sort(), `${key}: p${i}'s state`).toEqual([...slots].sort());
            for (const slot of slots)
              await checkTensor(`${c.type} vs torch.optim`, `${key} p${i} ${slot}`, state![slot], want(`p${i}.${slot}`), RTOL);
          }
        });
      });
    }
  }
});

describeDeviceOnly('SGD with groups, Adam and AdamW: the device against the CPU build', () => {
  for (const set of SETS) {
    for (const c of CASES) {
      it(`${c.name} on ${set.name}`, async () => {
        const key = `${c.name}.${set.name}`;
        const cpuResults: Float32Array[][] = [];
        await runCase(c, set, cpu(), async (step, params, optimizer) => {
          if (step !== STEPS - 1) return;
          for (const p of params) {
            cpuResults.push([
              (await p.value.toArray()) as Float32Array,
              ...(await Promise.all(Object.values(optimizer.stateOf(p) ?? {}).map(async (t) => (await t.toArray()) as Float32Array))),
            ]);
          }
        });
        await runCase(c, set, device(), async (step, params, optimizer) => {
          if (step !== STEPS - 1) return;
          for (const [i, p] of params.entries()) {
            const expected = cpuResults[i];
            await checkTensor(`${c.type} vs CPU`, `${key} p${i}`, p.value, { shape: p.value.shape, data: expected[0] }, RTOL);
            const state = Object.entries(optimizer.stateOf(p) ?? {});
            expect(state.length).toBe(expected.length - 1);
            for (const [k, [slot, t]] of state.entries()) {
              await checkTensor(`${c.type} vs CPU`, `${key} p${i} ${slot}`, t, { shape: t.shape, data: expected[k + 1] }, RTOL);
            }
          }
        });
      });
    }
  }
});
