/**
 * The step capture logic (lib/training/stepCapture.ts) with a fake graph backend: which calls run
 * plainly, which warm up the pool, which capture and which replay; a shape change, a structure
 * change, eviction, a failed capture (state rolled back, one line logged, plain runs after) and the
 * switches that turn graphs off. The fake graph records nothing: its launch recomputes the step's
 * outputs from the static inputs, as a real replay would, so the data path is checked too. The
 * real recording (the CPU build's queue) is tested in capturedTraining.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

import { CaptureError } from '../../lib/errors';
import { addScaled, copyInto } from '../../lib/ops/elementwise';
import { Tensor } from '../../lib/tensor';
import { StepCapture, type CapturableStep, type GraphLike } from '../../lib/training/stepCapture';

type Out = { doubled: Tensor };

/** out = 2 * input; counts runs and keeps a JavaScript counter that each run advances. */
class FakeStep implements CapturableStep<Out> {
  runs = 0;
  counter = 0;
  prepared = 0;
  structure: string | null = 'A';
  failRun = false;
  captureMode = false;
  recorded: { input: Tensor; output: Tensor } | null = null;

  structureKey(): string | null {
    return this.structure;
  }
  prepare(): void {
    this.prepared++;
  }
  run([input]: readonly Tensor[]): Out {
    if (this.captureMode && this.failRun) throw new TypeError('a call the graph cannot hold');
    this.runs++;
    this.counter++;
    const doubled = input.clone();
    addScaled(doubled, input, 1);
    if (this.captureMode) this.recorded = { input: input, output: doubled };
    return { doubled };
  }
  saveState(): () => void {
    const counter = this.counter;
    return () => {
      this.counter = counter;
    };
  }
  replayEffects(): () => void {
    return () => {
      this.counter++;
    };
  }
}

/** A graph that logs its calls; launch recomputes the recorded output from the recorded input. */
class FakeGraphs {
  calls: string[] = [];
  live = 0;
  failEnd = false;
  constructor(readonly step: FakeStep) {}
  factory = (): GraphLike => {
    this.live++;
    const log = (c: string) => this.calls.push(c);
    let recorded: { input: Tensor; output: Tensor } | null = null; // this graph's own recording
    return {
      beginWarmup: () => log('beginWarmup'),
      endWarmup: () => log('endWarmup'),
      beginCapture: () => {
        log('beginCapture');
        this.step.captureMode = true;
      },
      endCapture: () => {
        log('endCapture');
        this.step.captureMode = false;
        if (this.failEnd) throw new CaptureError('cudaStreamEndCapture failed: cudaErrorStreamCaptureInvalidated');
        recorded = this.step.recorded;
      },
      launch: () => {
        log('launch');
        const { input, output } = recorded!;
        copyInto(output, input);
        addScaled(output, input, 1);
      },
      dispose: () => {
        log('dispose');
        this.live--;
      },
    };
  };
}

const x = (v: number, n = 3) => Tensor.fromArray(Array.from({ length: n }, (_, i) => v + i));

async function values(out: Out): Promise<number[]> {
  const a = Array.from(await out.doubled.toArray());
  out.doubled.dispose();
  return a;
}

describe('step capture: warm-up, capture, replay', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('runs plainly, warms up the pool, captures and launches once, then replays', async () => {
    const step = new FakeStep();
    const graphs = new FakeGraphs(step);
    const capture = new StepCapture(step, { graphs: graphs.factory, warmup: 2, log: () => {} });
    const input = x(1);
    expect(capture.phaseFor([input])).toBe('eager');
    expect(await values(capture.run([input]))).toEqual([2, 4, 6]); // plain
    expect(graphs.calls).toEqual([]);
    expect(capture.phaseFor([input])).toBe('pool');
    expect(await values(capture.run([input]))).toEqual([2, 4, 6]); // pool warm-up
    expect(graphs.calls).toEqual(['beginWarmup', 'endWarmup']);
    expect(capture.phaseFor([input])).toBe('capture');
    expect(await values(capture.run([input]))).toEqual([2, 4, 6]); // capture + first launch
    expect(graphs.calls.slice(2)).toEqual(['beginCapture', 'endCapture', 'launch']);
    expect(capture.phaseFor([input])).toBe('replay');
    expect(step.runs).toBe(3);
    expect(step.counter).toBe(3);
    // Replays: new inputs reach the graph through the static input; the step never runs again.
    expect(await values(capture.run([x(10)]))).toEqual([20, 22, 24]);
    expect(await values(capture.run([x(-5)]))).toEqual([-10, -8, -6]);
    expect(step.runs).toBe(3);
    expect(step.counter).toBe(5); // replayEffects moved it as runs would have
    expect(step.prepared).toBe(5); // the step scalars are brought up to date before every call
    expect(graphs.calls.slice(5)).toEqual(['launch', 'launch']);
    expect(capture.graphCount).toBe(1);
    capture.dispose();
    expect(graphs.live).toBe(0);
    input.dispose();
  });

  it('returns copies the caller owns: the next replay does not change them', async () => {
    const step = new FakeStep();
    const graphs = new FakeGraphs(step);
    const capture = new StepCapture(step, { graphs: graphs.factory, warmup: 2, log: () => {} });
    for (let i = 0; i < 3; i++) capture.run([x(i)]).doubled.dispose();
    const first = capture.run([x(100)]);
    const second = capture.run([x(200)]);
    expect(first.doubled).not.toBe(second.doubled);
    expect(await values(first)).toEqual([200, 202, 204]);
    expect(await values(second)).toEqual([400, 402, 404]);
    capture.dispose();
  });

  it('captures each input shape on its own, and a structure change drops every graph', async () => {
    const step = new FakeStep();
    const graphs = new FakeGraphs(step);
    const capture = new StepCapture(step, { graphs: graphs.factory, warmup: 2, log: () => {} });
    for (let i = 0; i < 3; i++) capture.run([x(1, 4)]).doubled.dispose();
    expect(capture.phaseFor([x(1, 4)])).toBe('replay');
    expect(capture.phaseFor([x(1, 2)])).toBe('eager');
    for (let i = 0; i < 3; i++) capture.run([x(1, 2)]).doubled.dispose();
    expect(capture.phaseFor([x(1, 2)])).toBe('replay');
    expect(capture.graphCount).toBe(2);
    expect(await values(capture.run([x(3, 4)]))).toEqual([6, 8, 10, 12]);
    expect(await values(capture.run([x(3, 2)]))).toEqual([6, 8]);
    step.structure = 'B'; // say the parameters moved
    expect(graphs.live).toBe(2);
    expect(await values(capture.run([x(1, 4)]))).toEqual([2, 4, 6, 8]);
    expect(graphs.live).toBe(0);
    expect(capture.phaseFor([x(1, 4)])).toBe('pool'); // warming up again, from its first call under B
    capture.dispose();
  });

  it('keeps at most maxGraphs keys, disposing the least recently used', () => {
    const step = new FakeStep();
    const graphs = new FakeGraphs(step);
    const capture = new StepCapture(step, { graphs: graphs.factory, warmup: 2, maxGraphs: 2, log: () => {} });
    for (const n of [1, 2, 3]) for (let i = 0; i < 3; i++) capture.run([x(0, n)]).doubled.dispose();
    expect(graphs.live).toBe(2);
    expect(capture.phaseFor([x(0, 1)])).toBe('eager'); // evicted
    expect(capture.phaseFor([x(0, 3)])).toBe('replay');
    capture.dispose();
  });

  it('falls back to plain runs when the capture fails, rolling back the state and logging once', async () => {
    const step = new FakeStep();
    const graphs = new FakeGraphs(step);
    const lines: string[] = [];
    const capture = new StepCapture(step, { graphs: graphs.factory, warmup: 2, log: (l) => lines.push(l) });
    graphs.failEnd = true;
    for (let i = 0; i < 2; i++) capture.run([x(1)]).doubled.dispose();
    expect(step.counter).toBe(2);
    expect(await values(capture.run([x(1)]))).toEqual([2, 4, 6]); // the failed capture's call still gives its result
    expect(step.counter).toBe(3); // the capture run was rolled back, the plain run counted once
    expect(capture.phaseFor([x(1)])).toBe('failed');
    expect(graphs.live).toBe(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^step capture failed, running without a graph \(cudaStreamEndCapture failed/);
    expect(await values(capture.run([x(2)]))).toEqual([4, 6, 8]);
    expect(graphs.calls.filter((c) => c === 'launch')).toHaveLength(0);
    // Another shape failing logs nothing more.
    for (let i = 0; i < 3; i++) capture.run([x(1, 5)]).doubled.dispose();
    expect(lines).toHaveLength(1);
    capture.dispose();
  });

  it('ends the capture when the step throws inside it, then runs plainly', async () => {
    const step = new FakeStep();
    const graphs = new FakeGraphs(step);
    const lines: string[] = [];
    const capture = new StepCapture(step, { graphs: graphs.factory, warmup: 2, log: (l) => lines.push(l) });
    for (let i = 0; i < 2; i++) capture.run([x(1)]).doubled.dispose();
    step.failRun = true;
    expect(await values(capture.run([x(1)]))).toEqual([2, 4, 6]);
    expect(graphs.calls.slice(-3)).toEqual(['beginCapture', 'endCapture', 'dispose']);
    expect(lines[0]).toMatch(/TypeError: a call the graph cannot hold/);
    capture.dispose();
  });

  it('runs plainly when graphs are off: no factory, ALEXNET_CUDA_GRAPHS=0, or a step that cannot be captured', async () => {
    for (const setup of ['none', 'env', 'structure'] as const) {
      const step = new FakeStep();
      const graphs = new FakeGraphs(step);
      if (setup === 'env') vi.stubEnv('ALEXNET_CUDA_GRAPHS', '0');
      if (setup === 'structure') step.structure = null;
      const capture = new StepCapture(step, { graphs: setup === 'none' ? null : graphs.factory, warmup: 2, log: () => {} });
      for (let i = 0; i < 5; i++) expect(await values(capture.run([x(i)]))).toEqual([2 * i, 2 * i + 2, 2 * i + 4]);
      expect(step.runs).toBe(5);
      expect(graphs.calls).toEqual([]);
      vi.unstubAllEnvs();
    }
  });
});
