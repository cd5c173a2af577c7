/**
 * Importing PyTorch weights (a `.pth`/`.pt` file torch.save wrote) into an AlexNet preset, without
 * Python. Parameter names are PyTorch's: the torchvision preset's are torchvision's own
 * (`features.0.weight`, ..., `classifier.6.bias`), so torchvision's ImageNet file
 * alexnet-owt-7be5be79.pth imports as it is.
 *
 * The file may hold the state_dict itself or a checkpoint dict with it under `state_dict`,
 * `model_state_dict` or `model` (other entries, such as an optimizer's state, are ignored), and
 * the names may carry DataParallel's `module.` (or a `model.`) prefix. Every name and shape is
 * checked against the model before any tensor is read, so a wrong preset or class count is one
 * clear error, and nothing larger than the model is ever allocated.
 * @module
 */
import { CheckpointError, loadParameters, type StoredTensor } from '../checkpoint/format';
import type { Backend, BackendChoice } from '../backend/backend';
import { createAlexNet, PRESETS, type AlexNet, type PresetName } from '../models/alexnet';
import { pickleTypeName, type PickleValue } from '../io/pickle';
import type { Seed } from '../tensor';
import { FLOAT_DTYPES, openTorchFile, TorchTensor } from './torchFile';
import { oneOf, options as checkOptions } from '../validate';

/** Options of {@link importTorchCheckpoint}. */
export interface TorchImportOptions {
  /** The AlexNet variant whose names and shapes the file holds; default 'torchvision'. */
  preset?: PresetName;
  /** Output classes; default: the length of the output layer's bias in the file. */
  numClasses?: number;
  /** Input channels; default: what the file's first convolution takes. */
  inChannels?: number;
  /** Input height and width; default the preset's (224, or 227 for paper). */
  inputSize?: number;
  /** Channel and hidden-width multiplier; default 1 (the published sizes). */
  width?: number;
  /** Seed of the dropout masks (the weights come from the file); default: the next process-wide seed. */
  seed?: Seed;
  /** Where to build the model (default: the process default, see {@link setDefaultBackend}). */
  backend?: Backend | BackendChoice;
  /** Reject tensors in the state_dict that the model does not have (default true). */
  strict?: boolean;
  /** Receives notes on what was adapted (dtype conversions, stripped prefixes, ignored entries). */
  onNote?: (note: string) => void;
}

/** Keys under which training scripts commonly store the state_dict inside a checkpoint dict. */
const CONTAINER_KEYS = ['state_dict', 'model_state_dict', 'model'];
/** Prefixes wrappers add to every name: DataParallel's `module.` and a `model.` attribute. */
const PREFIXES = ['module.', 'model.'];

/** Finds the state_dict in what the file holds and strips wrapper prefixes from its names. */
function findStateDict(root: PickleValue, source: string, note: (n: string) => void): Map<string, PickleValue> {
  if (!(root instanceof Map))
    throw new CheckpointError(`${source}: holds a ${pickleTypeName(root)}, expected a state_dict (a dict of tensors)`);
  let dict = root;
  const hasTensors = [...dict.values()].some((v) => v instanceof TorchTensor);
  if (!hasTensors) {
    const key = CONTAINER_KEYS.find((k) => dict.get(k) instanceof Map);
    if (key === undefined) {
      const keys = [...dict.keys()]
        .slice(0, 8)
        .map((k) => JSON.stringify(k))
        .join(', ');
      throw new CheckpointError(
        `${source}: holds a dict without tensors (keys ${keys || 'none'}) and no ${CONTAINER_KEYS.join(', ')} entry with a state_dict`,
      );
    }
    dict = dict.get(key) as Map<PickleValue, PickleValue>;
    note(`used the ${JSON.stringify(key)} entry of the checkpoint dict`);
  }
  const out = new Map<string, PickleValue>();
  for (const [k, v] of dict) {
    if (typeof k !== 'string')
      throw new CheckpointError(`${source}: the state_dict has a ${pickleTypeName(k)} key; parameter names are strings`);
    out.set(k, v);
  }
  for (let stripped = true; stripped && out.size > 0;) {
    stripped = false;
    for (const prefix of PREFIXES) {
      if ([...out.keys()].every((k) => k.startsWith(prefix))) {
        const renamed = [...out].map(([k, v]) => [k.slice(prefix.length), v] as const);
        out.clear();
        for (const [k, v] of renamed) out.set(k, v);
        note(`stripped the prefix ${JSON.stringify(prefix)} from every name`);
        stripped = true;
      }
    }
  }
  return out;
}

/** The names of a preset's first (input) and last (output) weights, from a tiny model of it. */
function presetEndpoints(preset: PresetName, backend: Backend | BackendChoice | undefined): { first: string; last: string } {
  // The names do not depend on the widths, so a tiny model answers; seed 0 leaves the process-wide seeds alone.
  const probe = createAlexNet({ preset, width: 1 / 16, numClasses: 1, seed: 0, ...(backend ? { backend } : {}) });
  try {
    const weights = probe
      .namedParameters()
      .map(([n]) => n)
      .filter((n) => n.endsWith('.weight'));
    return { first: weights[0]!, last: weights[weights.length - 1]! };
  } finally {
    probe.dispose();
  }
}

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

/**
 * Reads a torch.save file (zip or legacy format; see {@link TorchImportOptions} for where the
 * state_dict may be) and returns the AlexNet preset built from it. float64, float16 and bfloat16
 * tensors are converted to float32 (with a note). Throws a {@link CheckpointError} naming the file
 * and the problem: not a torch file, damaged, holding anything but a state_dict's contents (the
 * unpickler executes nothing; a forbidden global or opcode is named), missing parameters, wrong
 * shapes (with the likely option to change), or, when strict, tensors the model does not have.
 */
export async function importTorchCheckpoint(file: string, options: TorchImportOptions = {}): Promise<AlexNet> {
  checkOptions(
    options,
    ['preset', 'numClasses', 'inChannels', 'inputSize', 'width', 'seed', 'backend', 'strict', 'onNote'],
    'importTorchCheckpoint: options',
  );
  const preset = oneOf(options.preset ?? 'torchvision', PRESETS, 'preset');
  const note = options.onNote ?? (() => {});
  const torch = await openTorchFile(file);
  try {
    const stateDict = findStateDict(torch.root, file, note);
    const { first, last } = presetEndpoints(preset, options.backend);
    const firstWeight = stateDict.get(first);
    const lastWeight = stateDict.get(last);
    const inChannels =
      options.inChannels ?? (firstWeight instanceof TorchTensor && firstWeight.shape.length === 4 ? firstWeight.shape[1] : undefined);
    const numClasses =
      options.numClasses ?? (lastWeight instanceof TorchTensor && lastWeight.shape.length === 2 ? lastWeight.shape[0] : undefined);
    const model = createAlexNet({
      preset,
      ...(numClasses !== undefined ? { numClasses } : {}),
      ...(inChannels !== undefined ? { inChannels } : {}),
      ...(options.inputSize !== undefined ? { inputSize: options.inputSize } : {}),
      ...(options.width !== undefined ? { width: options.width } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.backend ? { backend: options.backend } : {}),
    });
    try {
      const wanted = model.namedParameters();
      const problems: string[] = [];
      for (const [name, p] of wanted) {
        const t = stateDict.get(name);
        if (t === undefined) problems.push(`has no ${JSON.stringify(name)}`);
        else if (!(t instanceof TorchTensor)) problems.push(`${JSON.stringify(name)} is a ${pickleTypeName(t)}, not a tensor`);
        else if (!FLOAT_DTYPES.includes(t.dtype)) problems.push(`${JSON.stringify(name)} is ${t.dtype}, expected a floating-point tensor`);
        else if (shapeText(t.shape) !== shapeText(p.value.shape)) {
          problems.push(`${JSON.stringify(name)} has shape ${shapeText(t.shape)}, the ${preset} preset's is ${shapeText(p.value.shape)}`);
        }
      }
      if (problems.length > 0) {
        throw new CheckpointError(
          `${file}: does not fit the ${preset} preset (${model.config.numClasses} classes, width ${model.config.width}): ` +
            `${problems.slice(0, 5).join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}. ` +
            'Check preset, numClasses, inChannels and width',
        );
      }
      const names = new Set(wanted.map(([n]) => n));
      const extra = [...stateDict.keys()].filter((k) => !names.has(k));
      if (extra.length > 0) {
        const list = `${extra
          .slice(0, 5)
          .map((n) => JSON.stringify(n))
          .join(', ')}${extra.length > 5 ? `, and ${extra.length - 5} more` : ''}`;
        if (options.strict ?? true) {
          throw new CheckpointError(
            `${file}: holds entries the ${preset} preset does not have: ${list} (pass strict: false to ignore them)`,
          );
        }
        note(`ignored ${extra.length} entries the model does not have: ${list}`);
      }
      const parameters = new Map<string, StoredTensor>();
      const converted = new Map<string, number>();
      for (const [name] of wanted) {
        const t = stateDict.get(name) as TorchTensor;
        if (t.dtype !== 'float32') converted.set(t.dtype, (converted.get(t.dtype) ?? 0) + 1);
        parameters.set(name, { shape: [...t.shape], data: await torch.readFloat32(t) });
      }
      for (const [dtype, count] of converted) note(`converted ${count} ${dtype} tensor${count === 1 ? '' : 's'} to float32`);
      loadParameters(model, {
        source: file,
        config: null,
        classes: null,
        preprocessing: null,
        parameters,
        optimizer: null,
        training: null,
        precision: null,
        metadata: {},
      });
      return model;
    } catch (error) {
      model.dispose();
      throw error;
    }
  } finally {
    await torch.close();
  }
}
