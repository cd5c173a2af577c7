import { describe, expect, it } from 'vitest';

import {
  chain,
  constantLR,
  cosineLR,
  linearWarmup,
  multiStepLR,
  parseSchedule,
  reduceOnPlateau,
  stepLR,
  type LrSchedule,
} from '../../lib/optim/schedules';
import { ciRequiresEverything } from '../helpers';
import { runTorch, torchAvailable } from '../python';

const at = (epoch: number, batch = 0, stepsPerEpoch = 10) => ({ epoch, batch, stepsPerEpoch });
const perEpoch = (s: LrSchedule, epochs: number) => Array.from({ length: epochs }, (_, e) => s.factor(at(e)));

describe('learning-rate schedules', () => {
  it('match PyTorch StepLR, MultiStepLR, CosineAnnealingLR, LinearLR and ReduceLROnPlateau', (ctx) => {
    const torch = torchAvailable();
    if (!torch.ok) {
      if (ciRequiresEverything) throw new Error(torch.reason);
      ctx.skip(torch.reason);
    }
    const metrics = [1, 0.9, 0.95, 0.91, 0.92, 0.93, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6];
    const plateau = reduceOnPlateau({ patience: 2, factor: 0.1, cooldown: 1 });
    const plateauFactors: number[] = [];
    for (const [e, m] of metrics.entries()) {
      plateau.observe!(e, m);
      plateauFactors.push(plateau.factor(at(e + 1)));
    }
    const ours = {
      step: perEpoch(stepLR({ stepSize: 3, gamma: 0.5 }), 12),
      multistep: perEpoch(multiStepLR({ milestones: [2, 5], gamma: 0.1 }), 12),
      cosine: perEpoch(cosineLR({ epochs: 8, minFactor: 0.1 }), 12),
      warmup: Array.from({ length: 12 }, (_, s) =>
        linearWarmup({ steps: 5, startFactor: 0.2 }).factor({ epoch: 0, batch: s, stepsPerEpoch: 100 }),
      ),
      plateau: plateauFactors,
    };
    const { outputs } = runTorch(
      `
import os, torch
from safetensors.torch import load_file, save_file
metrics = load_file(os.environ['IN'])['metrics'].tolist()
def run(make, n=12, observe=None):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = make(opt)
    out = []
    for i in range(n):
        if observe is None:
            out.append(opt.param_groups[0]['lr'])
            opt.step(); sched.step()
        else:
            opt.step(); sched.step(observe[i])
            out.append(opt.param_groups[0]['lr'])
    return torch.tensor(out, dtype=torch.float64)
S = torch.optim.lr_scheduler
save_file({
  'step': run(lambda o: S.StepLR(o, 3, 0.5)),
  'multistep': run(lambda o: S.MultiStepLR(o, [2, 5], 0.1)),
  'cosine': run(lambda o: S.CosineAnnealingLR(o, 8, eta_min=0.1)),
  'warmup': run(lambda o: S.LinearLR(o, start_factor=0.2, total_iters=5)),
  'plateau': run(lambda o: S.ReduceLROnPlateau(o, patience=2, factor=0.1, cooldown=1), observe=metrics),
}, os.environ['OUT'])
`,
      { metrics: { shape: [metrics.length], data: new Float64Array(metrics) } },
    );
    for (const [name, values] of Object.entries(ours)) {
      const expected = [...(outputs.get(name)!.data as Float64Array)];
      if (name === 'cosine') {
        // PyTorch's recursive cosine form drifts from the closed form after T_max; compare up to it.
        expect(
          values.slice(0, 9).map((v) => v.toFixed(9)),
          name,
        ).toEqual(expected.slice(0, 9).map((v) => v.toFixed(9)));
        continue;
      }
      expect(
        values.map((v) => v.toFixed(9)),
        name,
      ).toEqual(expected.map((v) => v.toFixed(9)));
    }
  });

  it('anneal within epochs when asked, and stay at the minimum after the last epoch', () => {
    const s = cosineLR({ epochs: 2, perStep: true });
    expect(s.factor(at(0, 0))).toBe(1);
    expect(s.factor(at(1, 0))).toBeCloseTo(0.5, 12);
    expect(s.factor(at(0, 5))).toBeCloseTo((1 + Math.cos(Math.PI / 4)) / 2, 12);
    expect(s.factor(at(7))).toBeCloseTo(0, 12);
  });

  it('compose: warm-up in front of a step schedule', () => {
    const s = chain(linearWarmup({ epochs: 1, startFactor: 0 }), stepLR({ stepSize: 2 }));
    expect(s.factor(at(0, 0))).toBe(0);
    expect(s.factor(at(0, 5))).toBeCloseTo(0.5, 12);
    expect(s.factor(at(1, 0))).toBe(1);
    expect(s.factor(at(2, 0))).toBeCloseTo(0.1, 12);
  });

  it('save and restore their state so a resumed run continues exactly', () => {
    const run = (s: LrSchedule, metrics: number[]) => metrics.map((m, e) => (s.observe?.(e, m), s.factor(at(e + 1))));
    const metrics = [1, 0.8, 0.8, 0.8, 0.8, 0.7, 0.7, 0.7, 0.7];
    const whole = run(chain(linearWarmup({ steps: 3 }), reduceOnPlateau({ patience: 1 })), metrics);
    const first = chain(linearWarmup({ steps: 3 }), reduceOnPlateau({ patience: 1 }));
    const before = run(first, metrics.slice(0, 4));
    const saved = JSON.parse(JSON.stringify(first.getState()));
    const second = chain(linearWarmup({ steps: 3 }), reduceOnPlateau({ patience: 1 }));
    second.setState(saved);
    const after = metrics.slice(4).map((m, i) => (second.observe!(i + 4, m), second.factor(at(i + 5))));
    expect([...before, ...after]).toEqual(whole);
    expect(() => constantLR().setState(saved)).toThrow(/schedule state is for "chain", expected "constant"/);
  });

  it('parse the CLI forms and reject bad ones with the accepted list', () => {
    expect(parseSchedule('step:30', 90).factor(at(30))).toBeCloseTo(0.1, 12);
    expect(parseSchedule('multistep:2,4:0.5', 10).factor(at(4))).toBeCloseTo(0.25, 12);
    expect(parseSchedule('cosine', 10).name).toMatch(/cosine\(10/);
    expect(parseSchedule('plateau:3', 10).name).toMatch(/patience 3/);
    expect(parseSchedule('constant', 10, 2).name).toBe('warmup(2 epochs, from 0.1) * constant');
    expect(() => parseSchedule('exp', 10)).toThrow(/unknown schedule "exp": use constant, step/);
    expect(() => parseSchedule('step:x', 10)).toThrow(/the step size must be a number/);
    expect(() => stepLR({ stepSize: 0 })).toThrow(/stepLR: stepSize must be a positive integer/);
    expect(() => multiStepLR({ milestones: [3, 2] })).toThrow(/milestones must increase/);
    expect(() => linearWarmup({})).toThrow(/exactly one of epochs or steps/);
    expect(() => reduceOnPlateau({ factor: 1 })).toThrow(/factor must be in \[0, 1\)/);
  });
});
