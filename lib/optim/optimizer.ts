/**
 * What SGD, Adam and AdamW share: parameter groups with their own options (torch.optim's
 * param_groups), per-parameter state (momentum, Adam's moments) and step counts, frozen parameters
 * left alone, and the grouping of the update into as few native calls as the memory layout allows.
 *
 * State. Each parameter that is to be trained gets its state tensors (the optimizer's slots,
 * zeros) when the optimizer is made, or at the first step it takes part in (a parameter unfrozen
 * later): never for a frozen one (`requiresGrad` false). Parameters that are neighbours in one
 * model's flat buffers (lib/nn/flatParameters.ts) get their state as neighbours in one flat
 * buffer per slot, laid out as the parameters are (alignment gaps included, which stay zero).
 *
 * Runs. A step updates each parameter that requires a gradient and has one (torch skips those
 * whose grad is None), each with its own group's options and its own step count, as torch.optim
 * does. The parameters taking part are cut into runs: the parameters of one group with the same
 * step count; a run is one native call with one step-scalar tensor (ops/stepScalars.ts: the group's
 * learning rate and the run's step count, in device memory, so a captured step replays right). In
 * a run, flat neighbours whose state is also neighbours are one slice of the flat buffers: with
 * every parameter of one model in one group, one run of one slice, one pass over memory. The runs
 * are worked out again only when the set of parameters taking part changes (a freeze, a first
 * gradient), so a steady training loop reuses them, slices and scalars included.
 * @module
 */
import type { Backend } from '../backend/backend';
import type { FlatParameters } from '../nn/flatParameters';
import type { Parameter } from '../nn/module';
import { callNative } from '../errors';
import { StepScalars } from '../ops/stepScalars';
import { checkTensor, Tensor } from '../tensor';
import { describe } from '../validate';
import type { ResolvedGroup } from './paramGroups';

/** The optimizers there are, as checkpoints and the CLI name them. */
export type OptimizerType = 'sgd' | 'adam' | 'adamw';

/** One parameter group: its parameters, its learning rate and its other options (fixed). */
export interface ParamGroup<O extends object = Record<string, unknown>> {
  /** The group's parameters, in the order given. */
  readonly params: readonly Parameter[];
  /** The group's learning rate; schedules set it to `initialLr` times their factor before every step. */
  lr: number;
  /** The learning rate the group was made with (torch's `initial_lr`): what schedules scale. */
  readonly initialLr: number;
  /** The group's other options, resolved (its own where it gave them, else the optimizer's). */
  readonly options: Readonly<O>;
}

/** A group's part of {@link OptimizerState}. */
export interface ParamGroupState {
  /** The group's learning rate when saved. */
  lr: number;
  /** The learning rate it was made with. */
  initialLr: number;
  /** Its parameter count; a loading optimizer must have the same. */
  size: number;
  /** Its other options; a loading optimizer must have the same. */
  options: Record<string, unknown>;
}

/** What a checkpoint keeps of an optimizer besides its state tensors (plain JSON). */
export interface OptimizerState {
  /** Which optimizer. */
  type: OptimizerType;
  /** The first group's learning rate when saved. */
  lr: number;
  /** Calls of step() so far. */
  steps: number;
  /** Each group's learning rates and options. */
  groups: ParamGroupState[];
  /** Each parameter's step count (in `params` order); null for one that has no state (frozen so far). */
  paramSteps: (number | null)[];
}

/** A parameter and what the optimizer keeps for it. */
interface ParamRecord {
  readonly param: Parameter;
  readonly index: number;
  readonly group: number;
  /** Its state, one tensor per slot of its group (views of `block`), or null before it has any. */
  state: Tensor[] | null;
  /** The flat tensors (one per slot) its state is a view of, shared with its flat neighbours. */
  block: Tensor[] | null;
  /** Where its state starts in `block`. */
  blockOffset: number;
  /** Steps it has taken part in. */
  steps: number;
}

/** One tensor of each kind for the native update: a slice of flat buffers, or one parameter's own tensors. */
interface Span {
  /** A slice of flat buffers (owned by the span), or null: use `record`'s tensors as they are at the step. */
  slices: { value: Tensor; grad: Tensor; state: Tensor[] } | null;
  record: ParamRecord;
}

/** Parameters updated by one native call. */
interface Run {
  readonly group: number;
  steps: number;
  readonly records: ParamRecord[];
  readonly spans: Span[];
  readonly scalars: StepScalars;
}

/** The tensors of one native update call (see {@link Optimizer.update}). */
export interface UpdateTensors {
  /** Parameter values. */
  values: Tensor[];
  /** Their gradients. */
  grads: Tensor[];
  /** For each state slot, one tensor per value. */
  state: Tensor[][];
}

/**
 * The base of SGD, Adam and AdamW (see the module notes). Subclasses say what state a group needs,
 * what its step scalars hold and which native op updates a run.
 */
export abstract class Optimizer<O extends object = Record<string, unknown>> {
  /** Which optimizer this is. */
  abstract readonly type: OptimizerType;
  /** Every parameter, group after group. */
  readonly params: Parameter[];
  /** The parameter groups. */
  readonly groups: readonly ParamGroup<O>[];
  /** Calls of {@link Optimizer.step} so far (each parameter also counts its own steps, as torch does). */
  steps = 0;
  /** The flat buffers every parameter lives in (what a captured step needs), or null. */
  readonly flat: FlatParameters | null;
  readonly #backend: Backend;
  readonly #records: ParamRecord[];
  readonly #blocks: Tensor[][] = [];
  #runs: Run[] = [];
  #layoutKey: string | null = null;
  #layoutVersion = 0;
  #disposed = false;
  /** The optimizer's name in error messages ('SGD', 'Adam', 'AdamW'). */
  readonly who: string;

  /** @internal `who` names the optimizer in errors; `groups` are resolved and their options checked. */
  protected constructor(who: string, groups: ResolvedGroup<O & { lr: number }>[]) {
    this.who = who;
    const params = groups.flatMap((g) => g.params);
    const backend = params[0]!.value.backend;
    params.forEach((p, i) => {
      if (p.value.backend !== backend) {
        throw new TypeError(
          `${who}: parameter ${i} (${p.name}) is on the ${p.value.backend.kind} backend, parameter 0 (${params[0]!.name}) on ${backend.kind}`,
        );
      }
      if (p.value.dtype !== 'float32') throw new TypeError(`${who}: parameter ${i} (${p.name}) must be float32, got ${p.value.dtype}`);
    });
    this.#backend = backend;
    this.params = params;
    this.groups = groups.map(({ params: groupParams, options }) => {
      const { lr, ...rest } = options as O & { lr: number };
      return { params: groupParams, lr, initialLr: lr, options: Object.freeze(rest) as unknown as Readonly<O> };
    });
    let index = 0;
    this.#records = groups.flatMap((g, group) =>
      g.params.map((param) => ({ param, index: index++, group, state: null, block: null, blockOffset: 0, steps: 0 })),
    );
    const first = params[0]!.flat;
    this.flat = first && params.every((p) => p.flat === first) ? first : null;
  }

  /** Allocates the state of every parameter that requires a gradient (call at the end of a subclass's constructor). */
  protected allocateInitialState(): void {
    this.#allocate(this.#records.filter((r) => r.param.requiresGrad));
  }

  /** The names of the state tensors a group keeps per parameter (torch's names: 'momentum_buffer', 'exp_avg'). */
  protected abstract slots(group: ParamGroup<O>): readonly string[];
  /** The step-scalar words for a run of `group` whose parameters have taken `steps` steps. */
  protected abstract scalarWords(lr: number, steps: number): Int32Array;
  /** Where the step count is in the step scalars (advanced on the device after each update). */
  protected abstract readonly stepWord: number;
  /** Queues the native update of one run. */
  protected abstract update(group: ParamGroup<O>, tensors: UpdateTensors, scalars: Tensor): void;

  /** The first group's learning rate. Setting it needs a single group (set `groups[i].lr`, or {@link Optimizer.scaleLr}, otherwise). */
  get lr(): number {
    return this.groups[0]!.lr;
  }

  /** Sets the learning rate of the only group (a TypeError when there are several). */
  set lr(value: number) {
    if (this.groups.length > 1) {
      throw new TypeError(
        `${this.who}.lr: the optimizer has ${this.groups.length} parameter groups; set groups[i].lr or call scaleLr(factor)`,
      );
    }
    this.groups[0]!.lr = value;
  }

  /** Sets every group's learning rate to its initial one times `factor` (what a schedule does each step). */
  scaleLr(factor: number): void {
    if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 0) {
      throw new RangeError(`${this.who}.scaleLr: factor must be a finite non-negative number, got ${describe(factor)}`);
    }
    for (const g of this.groups) g.lr = g.initialLr * factor;
  }

  /** Applies one update to every parameter that requires a gradient and has one, from its current gradient. */
  step(): void {
    this.#checkLive('step');
    this.#layout(false);
    for (const run of this.#runs) {
      const group = this.groups[run.group]!;
      run.scalars.sync(this.scalarWords(this.#checkedLr(run.group), run.steps));
      const slots = this.slots(group).length;
      const tensors: UpdateTensors = { values: [], grads: [], state: Array.from({ length: slots }, () => []) };
      for (const span of run.spans) {
        const s = span.slices ?? { value: span.record.param.value, grad: span.record.param.grad!, state: span.record.state! };
        tensors.values.push(s.value);
        tensors.grads.push(s.grad);
        s.state.forEach((t, k) => tensors.state[k]!.push(t));
      }
      this.update(group, tensors, run.scalars.tensor);
      run.scalars.advance(this.stepWord, 1n);
      this.#stepped(run);
    }
    this.steps++;
  }

  /** The state tensors of a parameter by slot name, or null when it has none (frozen so far, or not one of this optimizer's). */
  stateOf(param: Parameter): Readonly<Record<string, Tensor>> | null {
    const record = this.#records.find((r) => r.param === param);
    if (!record?.state) return null;
    const slots = this.slots(this.groups[record.group]!);
    return Object.fromEntries(slots.map((name, k) => [name, record.state![k]!]));
  }

  /** The slot names of the parameter's group (the state it has, or will have once it takes part). */
  slotsOf(param: Parameter): readonly string[] {
    const record = this.#records.find((r) => r.param === param);
    if (!record) throw new RangeError(`${this.who}.slotsOf: ${param?.name} is not one of this optimizer's parameters`);
    return this.slots(this.groups[record.group]!);
  }

  /**
   * Writes `value` into one of a parameter's state tensors (checkpoints), allocating its state if it
   * has none yet; takes `value` over (copies it in and disposes it).
   */
  setStateTensor(param: Parameter, slot: string, value: Tensor): void {
    this.#checkLive('setStateTensor');
    const record = this.#records.find((r) => r.param === param);
    if (!record) throw new RangeError(`${this.who}.setStateTensor: ${describe(param?.name)} is not one of this optimizer's parameters`);
    const slots = this.slots(this.groups[record.group]!);
    const k = slots.indexOf(slot);
    if (k < 0)
      throw new RangeError(
        `${this.who}.setStateTensor: no state ${JSON.stringify(slot)} for ${param.name} (its group has: ${slots.join(', ') || 'none'})`,
      );
    if (!record.state) this.#allocateAndRelayout([record]);
    const target = record.state![k]!;
    checkTensor(value, `${this.who}.setStateTensor: value`, target.backend);
    if (value.shape.join(',') !== target.shape.join(',')) {
      throw new RangeError(
        `${this.who}.setStateTensor: value has shape [${value.shape.join(', ')}], ${slot} of ${param.name} has [${target.shape.join(', ')}]`,
      );
    }
    if (value === target) return;
    callNative(() => target.backend.native.copy(target.handle, value.handle));
    value.dispose();
  }

  /** Group options, learning rates and step counts, for a checkpoint (the state tensors are saved as tensors). */
  getState(): OptimizerState {
    return {
      type: this.type,
      lr: this.lr,
      steps: this.steps,
      groups: this.groups.map((g) => ({ lr: g.lr, initialLr: g.initialLr, size: g.params.length, options: { ...g.options } })),
      paramSteps: this.#records.map((r) => (r.state ? r.steps : null)),
    };
  }

  /**
   * Restores {@link Optimizer.getState}'s result: the learning rates and step counts, after checking
   * that it is of the same optimizer with the same groups and options (an Error naming what
   * differs); a parameter with a step count gets its state allocated (zeros) for the tensors to be
   * written into.
   */
  setState(state: OptimizerState): void {
    this.#checkLive('setState');
    const where = `${this.who}.setState`;
    if (state === null || typeof state !== 'object') throw new TypeError(`${where}: state must be an object, got ${describe(state)}`);
    if (state.type !== this.type)
      throw new TypeError(`${where}: the state is of ${describe(state.type)}, this optimizer is ${JSON.stringify(this.type)}`);
    if (!Array.isArray(state.groups) || state.groups.length !== this.groups.length) {
      throw new RangeError(
        `${where}: the state has ${describe(state.groups?.length)} parameter groups, this optimizer ${this.groups.length}`,
      );
    }
    state.groups.forEach((saved, i) => {
      const group = this.groups[i]!;
      if (saved.size !== group.params.length)
        throw new RangeError(`${where}: groups[${i}] had ${saved.size} parameters, here ${group.params.length}`);
      for (const [key, value] of Object.entries(group.options)) {
        if (JSON.stringify(saved.options?.[key]) !== JSON.stringify(value)) {
          throw new RangeError(
            `${where}: groups[${i}] was saved with ${key} ${JSON.stringify(saved.options?.[key])}, this optimizer has ${JSON.stringify(value)}`,
          );
        }
      }
      for (const key of ['lr', 'initialLr'] as const) {
        if (typeof saved[key] !== 'number' || !Number.isFinite(saved[key]))
          throw new TypeError(`${where}: groups[${i}].${key} must be a finite number, got ${describe(saved[key])}`);
      }
    });
    if (!Array.isArray(state.paramSteps) || state.paramSteps.length !== this.#records.length) {
      throw new RangeError(
        `${where}: paramSteps must hold one entry per parameter (${this.#records.length}), got ${describe(state.paramSteps)}`,
      );
    }
    state.paramSteps.forEach((s, i) => {
      if (s !== null && !(Number.isSafeInteger(s) && s >= 0))
        throw new TypeError(`${where}: paramSteps[${i}] must be null or a non-negative integer, got ${describe(s)}`);
    });
    if (!Number.isSafeInteger(state.steps) || state.steps < 0)
      throw new TypeError(`${where}: steps must be a non-negative integer, got ${describe(state.steps)}`);
    state.groups.forEach((saved, i) => {
      const group = this.groups[i]! as { lr: number; initialLr: number };
      group.lr = saved.lr;
      group.initialLr = saved.initialLr;
    });
    this.#allocate(this.#records.filter((r, i) => state.paramSteps[i] !== null && !r.state));
    this.#records.forEach((r, i) => (r.steps = state.paramSteps[i] ?? 0));
    this.steps = state.steps;
    this.#dropLayout();
  }

  /** @internal Writes the learning rates and step counts to the device where they changed since it last saw them. */
  syncScalars(): void {
    this.#checkLive('syncScalars');
    this.#layout(true);
    for (const run of this.#runs) run.scalars.sync(this.scalarWords(this.#checkedLr(run.group), run.steps));
  }

  /**
   * @internal What a captured step's graph depends on: changes whenever the runs do (a new freeze,
   * a first gradient); null when a step cannot be captured (a parameter outside flat buffers).
   */
  layoutKey(): string | null {
    this.#checkLive('layoutKey');
    this.#layout(true);
    return this.#runs.every((run) => run.spans.every((s) => s.slices)) ? `${this.#layoutVersion}` : null;
  }

  /** @internal Records a step that ran inside a replayed graph: the step counts move as step() moves them. */
  replayedStep(): void {
    for (const run of this.#runs) {
      run.scalars.advanced(this.stepWord, 1n);
      this.#stepped(run);
    }
    this.steps++;
  }

  /** @internal Forgets what the device holds (after a capture that never ran), so the next step writes it. */
  invalidateScalars(): void {
    for (const run of this.#runs) run.scalars.invalidate();
  }

  /** @internal The step counts now, and a function that puts them back (a capture that did not run). */
  saveCounters(): () => void {
    const steps = this.steps;
    const records = this.#records.map((r) => r.steps);
    const runs = this.#runs.map((r) => r.steps);
    const current = this.#runs;
    return () => {
      this.steps = steps;
      this.#records.forEach((r, i) => (r.steps = records[i]!));
      if (this.#runs === current) current.forEach((r, i) => (r.steps = runs[i]!));
      else this.#dropLayout();
      this.invalidateScalars();
    };
  }

  /** Frees the state tensors and the step scalars (not the parameters, which belong to the model). */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#dropLayout();
    for (const r of this.#records) for (const t of r.state ?? []) t.dispose();
    for (const block of this.#blocks) for (const t of block) t.dispose();
    this.#blocks.length = 0;
  }

  #checkLive(what: string): void {
    if (this.#disposed) throw new Error(`${this.who}.${what}: the optimizer has been disposed`);
  }

  #checkedLr(group: number): number {
    const lr = this.groups[group]!.lr;
    if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
      const name = this.groups.length > 1 ? `groups[${group}].lr` : 'lr';
      throw new RangeError(`${this.who}: ${name} must be finite and non-negative, got ${describe(lr)}`);
    }
    return lr;
  }

  #stepped(run: Run): void {
    run.steps++;
    for (const r of run.records) r.steps++;
  }

  /** Whether the parameter's gradient is its view of the flat gradient buffer (or will be, when `predict`ing before the first backward). */
  #flatGrad(r: ParamRecord, predict: boolean): boolean {
    const p = r.param;
    if (!p.flat) return false;
    return p.grad === p.gradTarget || (predict && p.grad === null);
  }

  /** Works the runs out again when the parameters taking part have changed. */
  #layout(predict: boolean): void {
    const active = this.#records.filter((r) => r.param.requiresGrad && (r.param.grad !== null || (predict && this.#flatGrad(r, true))));
    const key = active.map((r) => `${r.index}${this.#flatGrad(r, predict) ? 'f' : ''}`).join(',');
    if (key === this.#layoutKey) return;
    this.#allocate(active.filter((r) => !r.state));
    this.#dropLayout();
    this.#layoutKey = key;
    this.#layoutVersion++;
    for (let group = 0; group < this.groups.length; group++) {
      const bySteps = new Map<number, ParamRecord[]>();
      for (const r of active) if (r.group === group) bySteps.set(r.steps, [...(bySteps.get(r.steps) ?? []), r]);
      for (const [steps, records] of bySteps) {
        const spans = chains(records, (r) => this.#flatGrad(r, predict), true).map((chain) => this.#span(chain, predict));
        this.#runs.push({ group, steps, records, spans, scalars: new StepScalars(this.#backend) });
      }
    }
  }

  #span(chain: ParamRecord[], predict: boolean): Span {
    const first = chain[0]!;
    if (!this.#flatGrad(first, predict)) return { slices: null, record: first };
    const last = chain[chain.length - 1]!;
    const flat = first.param.flat!;
    const start = segmentOf(flat, first.param).offset;
    const extent = segmentOf(flat, last.param).offset + last.param.value.size - start;
    return {
      record: first,
      slices: {
        value: flat.values.slice(start, [extent]),
        grad: flat.grads.slice(start, [extent]),
        state: first.block!.map((t) => t.slice(first.blockOffset, [extent])),
      },
    };
  }

  /** Drops the runs (their slices and scalars); the next step works them out again. */
  #dropLayout(): void {
    for (const run of this.#runs) {
      run.scalars.dispose();
      for (const s of run.spans) if (s.slices) for (const t of [s.slices.value, s.slices.grad, ...s.slices.state]) t.dispose();
    }
    this.#runs = [];
    this.#layoutKey = null;
  }

  #allocateAndRelayout(records: ParamRecord[]): void {
    this.#allocate(records);
    this.#dropLayout();
  }

  /** Gives each record its (zero) state: flat neighbours of one group share one block per slot. */
  #allocate(records: ParamRecord[]): void {
    for (let group = 0; group < this.groups.length; group++) {
      const slots = this.slots(this.groups[group]!);
      const mine = records.filter((r) => r.group === group);
      for (const chain of chains(mine, (r) => r.param.flat !== null, false)) {
        const first = chain[0]!;
        const last = chain[chain.length - 1]!;
        const flat = first.param.flat;
        const start = flat ? segmentOf(flat, first.param).offset : 0;
        const extent = flat ? segmentOf(flat, last.param).offset + last.param.value.size - start : first.param.value.size;
        const block = slots.map(() => Tensor.zeros([extent], { backend: this.#backend }));
        if (block.length > 0) this.#blocks.push(block);
        for (const r of chain) {
          r.block = block;
          r.blockOffset = flat ? segmentOf(flat, r.param).offset - start : 0;
          r.state = block.map((t) => t.slice(r.blockOffset, r.param.value.shape));
          r.steps = 0;
        }
      }
    }
  }
}

/** A parameter's segment in its flat buffers. */
function segmentOf(flat: FlatParameters, param: Parameter) {
  const segment = flat.segments.find((s) => s.parameter === param);
  if (!segment) throw new Error(`internal: ${param.name} is not in its flat buffers' segments`);
  return segment;
}

/**
 * Cuts records into chains of flat neighbours: records for which `flat` holds, in the same flat
 * buffers, in consecutive segments (and, when `sameBlock`, with their state consecutive in one
 * block), go in one chain; every other record is a chain of its own.
 */
function chains(records: ParamRecord[], flat: (r: ParamRecord) => boolean, sameBlock: boolean): ParamRecord[][] {
  const index = (r: ParamRecord) => r.param.flat!.segments.findIndex((s) => s.parameter === r.param);
  const flats = records.filter(flat).map((r) => ({ r, i: index(r) }));
  const buffers = [...new Set(flats.map(({ r }) => r.param.flat))];
  flats.sort((a, b) => buffers.indexOf(a.r.param.flat) - buffers.indexOf(b.r.param.flat) || a.i - b.i);
  const result: ParamRecord[][] = [];
  let previous: { r: ParamRecord; i: number } | null = null;
  for (const item of flats) {
    const joins =
      previous !== null &&
      previous.r.param.flat === item.r.param.flat &&
      item.i === previous.i + 1 &&
      (!sameBlock ||
        (previous.r.block === item.r.block &&
          item.r.blockOffset - previous.r.blockOffset ===
            segmentOf(item.r.param.flat!, item.r.param).offset - segmentOf(previous.r.param.flat!, previous.r.param).offset));
    if (joins) result[result.length - 1]!.push(item.r);
    else result.push([item.r]);
    previous = item;
  }
  for (const r of records) if (!flat(r)) result.push([r]);
  return result;
}
