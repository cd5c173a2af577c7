/**
 * Running a step (a training step, an inference forward) as a graph: after warm-up it is captured
 * once per input shape and replayed, so that the host queues one launch instead of dozens of
 * kernels and library calls. This file is the decision logic, and it knows nothing of CUDA: a
 * {@link GraphFactory} makes the graphs (the native addon's Graph: CUDA stream capture in the CUDA
 * build, a recording of its queue in the CPU build; a fake in the unit tests) and a
 * {@link CapturableStep} is the work (lib/training/step.ts has the two the Trainer uses).
 *
 * For each key (the inputs' shapes and dtypes, and the step's structure: which parameter buffers,
 * training or evaluation, math mode, switches) a call goes through these phases:
 * 1. `eager`: the first `warmup - 1` calls run plainly (the first one also searches convolution
 *    algorithms and sizes the library workspaces).
 * 2. `pool`: one more plain run, with every allocation taken from the new graph's own memory pool,
 *    which so holds exactly the blocks the step needs (no allocation may happen during a capture).
 *    The inputs are copied into static input tensors first, as for every later call.
 * 3. `capture`: the step is recorded (not run) on the static inputs, then launched once, which
 *    runs it. Its outputs (static tensors) are copied out for the caller.
 * 4. `replay`: inputs copied in, step scalars brought up to date, one launch, outputs copied out,
 *    and the JavaScript-side counters (optimizer steps, dropout offsets) advanced as a run would.
 * A capture that fails (a call a graph cannot hold, memory the pool lacks) rolls those counters back,
 * logs one line, and the key runs plainly from then on (`failed`). A change of structure disposes
 * every graph of the old structure. ALEXNET_CUDA_GRAPHS=0 turns all of it off (plain runs only).
 * @module
 */
import type { Backend } from '../backend/backend';
import { callNative, CaptureError } from '../errors';
import { copyInto } from '../ops/elementwise';
import { Tensor } from '../tensor';

/** A graph as the capture logic uses it (native/binding/graph_handle.h). */
export interface GraphLike {
  /** Allocations go to the graph's pool until endWarmup. */
  beginWarmup(): void;
  /** Back to the normal cache. */
  endWarmup(): void;
  /** Records queued work instead of running it; allocations come from the pool. */
  beginCapture(): void;
  /** Ends the recording; throws when nothing usable was recorded. */
  endCapture(): void;
  /** Queues the recorded work. */
  launch(): void;
  /** Frees the graph and its pool. */
  dispose(): void;
}

/** Makes graphs (the native addon's `new Graph()`). */
export type GraphFactory = () => GraphLike;

/** A step the capture logic can run plainly, capture and replay. */
export interface CapturableStep<Out extends Record<string, Tensor>> {
  /**
   * What, when it changes, makes every captured graph stale (the parameters' buffers, the mode, the
   * math mode, switches); null when the step cannot be captured at all (it then always runs plainly).
   */
  structureKey(): string | null;
  /** Writes to the device the per-step values JavaScript changed (the step scalars); never during a capture. */
  prepare(): void;
  /** Queues the step on `inputs`; returns its outputs (new tensors). */
  run(inputs: readonly Tensor[]): Out;
  /** Notes the JavaScript state a run changes; the returned function puts it back (after a failed capture). */
  saveState(): () => void;
  /** After the capture run: what to do after each replay so JavaScript's state moves as a run would move it. */
  replayEffects(): () => void;
}

/** Options of {@link StepCapture}. */
export interface StepCaptureOptions {
  /** Makes graphs; null (or ALEXNET_CUDA_GRAPHS=0) runs every step plainly. */
  graphs: GraphFactory | null;
  /** Calls before a graph is captured, the pool warm-up included (at least 2); default 2. */
  warmup?: number;
  /** Graphs kept at once (least recently used go first); default 4. */
  maxGraphs?: number;
  /** Where the one line about a failed capture goes (default: stderr unless ALEXNET_QUIET=1). */
  log?: (line: string) => void;
}

/** The phase a key is in (see the module notes). */
export type CapturePhase = 'eager' | 'pool' | 'capture' | 'replay' | 'failed';

interface Entry<Out extends Record<string, Tensor>> {
  phase: CapturePhase;
  runs: number;
  graph: GraphLike | null;
  inputs: Tensor[];
  outputs: Out | null;
  afterReplay: (() => void) | null;
}

/** The native addon's graphs on `backend`, with its errors translated (CaptureError and the rest). */
export function nativeGraphs(backend: Backend): GraphFactory {
  return () => {
    const graph = callNative(() => new backend.native.Graph());
    return {
      beginWarmup: () => callNative(() => graph.beginWarmup()),
      endWarmup: () => callNative(() => graph.endWarmup()),
      beginCapture: () => callNative(() => graph.beginCapture()),
      endCapture: () => callNative(() => graph.endCapture()),
      launch: () => callNative(() => graph.launch()),
      dispose: () => callNative(() => graph.dispose()),
    };
  };
}

/** Whether graphs are allowed by the environment (ALEXNET_CUDA_GRAPHS=0 turns them off). */
export function graphsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.ALEXNET_CUDA_GRAPHS !== '0';
}

function defaultLog(line: string): void {
  if (process.env.ALEXNET_QUIET !== '1') process.stderr.write(`alexnet-cuda: ${line}\n`);
}

function inputKey(inputs: readonly Tensor[]): string {
  return inputs.map((t) => `${t.dtype}[${t.shape.join(',')}]`).join(' ');
}

/** Copies of `outputs` in new tensors the caller owns. */
function copyOut<Out extends Record<string, Tensor>>(outputs: Out): Out {
  const copies: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(outputs)) copies[name] = t.clone();
  return copies as Out;
}

function disposeAll(outputs: Record<string, Tensor> | null): void {
  if (outputs) for (const t of Object.values(outputs)) t.dispose();
}

/** Runs a {@link CapturableStep} through warm-up, capture and replay, per input shape (see the module notes). */
export class StepCapture<Out extends Record<string, Tensor>> {
  readonly #step: CapturableStep<Out>;
  readonly #graphs: GraphFactory | null;
  readonly #warmup: number;
  readonly #maxGraphs: number;
  readonly #log: (line: string) => void;
  readonly #entries = new Map<string, Entry<Out>>();
  #structure: string | null = null;
  #loggedFailure = false;

  constructor(step: CapturableStep<Out>, options: StepCaptureOptions) {
    this.#step = step;
    this.#graphs = graphsEnabled() ? options.graphs : null;
    this.#warmup = Math.max(2, options.warmup ?? 2);
    this.#maxGraphs = Math.max(1, options.maxGraphs ?? 4);
    this.#log = options.log ?? defaultLog;
  }

  /** What the next call with inputs of these shapes will do (for tests and reports). */
  phaseFor(inputs: readonly Tensor[]): CapturePhase {
    const structure = this.#step.structureKey();
    if (structure === null || !this.#graphs) return 'eager';
    const entry = this.#entries.get(`${inputKey(inputs)}#${structure}`);
    const runs = entry?.runs ?? 0;
    if (!entry || entry.phase === 'eager') return runs + 1 >= this.#warmup ? 'pool' : 'eager';
    return entry.phase;
  }

  /** Graphs captured and alive. */
  get graphCount(): number {
    return [...this.#entries.values()].filter((e) => e.phase === 'replay').length;
  }

  /** Runs the step on `inputs`; returns its outputs as new tensors the caller owns. */
  run(inputs: readonly Tensor[]): Out {
    const structure = this.#step.structureKey();
    if (structure === null || !this.#graphs) return this.#plain(inputs);
    if (structure !== this.#structure) {
      this.dispose();
      this.#structure = structure;
    }
    const key = `${inputKey(inputs)}#${structure}`;
    let entry = this.#entries.get(key);
    if (entry) {
      this.#entries.delete(key); // re-inserted below: the map's order is least recently used first
    } else {
      entry = { phase: 'eager', runs: 0, graph: null, inputs: [], outputs: null, afterReplay: null };
    }
    this.#entries.set(key, entry);
    this.#evict();
    entry.runs++;
    if (entry.phase === 'eager' && entry.runs >= this.#warmup) entry.phase = 'pool'; // the last warm-up call
    switch (entry.phase) {
      case 'failed':
      case 'eager':
        return this.#plain(inputs);
      case 'pool':
        return this.#poolWarmup(entry, inputs);
      case 'capture':
        return this.#capture(entry, inputs);
      case 'replay':
        return this.#replay(entry, inputs);
    }
  }

  /** Frees every graph and its static tensors. */
  dispose(): void {
    for (const entry of this.#entries.values()) this.#release(entry);
    this.#entries.clear();
  }

  #plain(inputs: readonly Tensor[]): Out {
    this.#step.prepare();
    return this.#step.run(inputs);
  }

  #stage(entry: Entry<Out>, inputs: readonly Tensor[]): void {
    if (entry.inputs.length === 0) {
      entry.inputs = inputs.map((t) => Tensor.empty(t.shape, { backend: t.backend, dtype: t.dtype }));
    }
    inputs.forEach((t, i) => copyInto(entry.inputs[i]!, t));
  }

  #poolWarmup(entry: Entry<Out>, inputs: readonly Tensor[]): Out {
    this.#stage(entry, inputs);
    this.#step.prepare();
    entry.graph = this.#graphs!();
    let outputs: Out;
    entry.graph.beginWarmup();
    try {
      outputs = this.#step.run(entry.inputs);
    } catch (error) {
      // A failure here is the step's own (it ran as any step runs): it propagates, and this key
      // stays without a graph rather than trying again.
      entry.graph.endWarmup();
      this.#release(entry);
      entry.phase = 'failed';
      throw error;
    }
    entry.graph.endWarmup();
    // Copied out of the pool, and the pool's blocks returned to it: the capture finds them all there.
    const copies = copyOut(outputs);
    disposeAll(outputs);
    entry.phase = 'capture';
    return copies;
  }

  #capture(entry: Entry<Out>, inputs: readonly Tensor[]): Out {
    this.#stage(entry, inputs);
    this.#step.prepare();
    const restore = this.#step.saveState();
    const graph = entry.graph!;
    let outputs: Out | null = null;
    try {
      graph.beginCapture();
      try {
        outputs = this.#step.run(entry.inputs);
      } catch (error) {
        try {
          graph.endCapture();
        } catch {
          // the capture is abandoned either way; the step's own error says more
        }
        throw error;
      }
      graph.endCapture();
    } catch (error) {
      disposeAll(outputs);
      restore();
      this.#fail(entry, error);
      return this.#plain(inputs);
    }
    entry.outputs = outputs;
    entry.afterReplay = this.#step.replayEffects();
    graph.launch(); // runs this step
    entry.phase = 'replay';
    return copyOut(outputs);
  }

  #replay(entry: Entry<Out>, inputs: readonly Tensor[]): Out {
    inputs.forEach((t, i) => copyInto(entry.inputs[i]!, t));
    this.#step.prepare();
    entry.graph!.launch();
    entry.afterReplay!();
    return copyOut(entry.outputs!);
  }

  #fail(entry: Entry<Out>, error: unknown): void {
    this.#release(entry);
    entry.phase = 'failed';
    if (!this.#loggedFailure) {
      this.#loggedFailure = true;
      const what = error instanceof CaptureError ? error.message : `${(error as Error)?.name}: ${(error as Error)?.message}`;
      this.#log(`step capture failed, running without a graph (${String(what).split('\n')[0]})`);
    }
  }

  #release(entry: Entry<Out>): void {
    disposeAll(entry.outputs);
    entry.outputs = null;
    entry.graph?.dispose();
    entry.graph = null;
    for (const t of entry.inputs) t.dispose();
    entry.inputs = [];
    entry.afterReplay = null;
  }

  #evict(): void {
    while (this.#entries.size > this.#maxGraphs) {
      const [oldest, entry] = this.#entries.entries().next().value as [string, Entry<Out>];
      this.#release(entry);
      this.#entries.delete(oldest);
    }
  }
}
