/**
 * Builds the TypeScript model for a reduced-preset fixture (test/reference/fixtures/models/<preset>)
 * and loads the script's parameters into it by name.
 */
import { expect } from 'vitest';

import { createAlexNet, type AlexNet, type PresetName } from '../../lib/models/alexnet';
import { cpuTensor, type Fixture } from '../helpers';

/** What make_fixtures.py records about a reduced preset. */
export interface ReducedPresetConfig {
  name: string;
  preset: PresetName;
  width: number;
  inputSize: number;
  inChannels: number;
  numClasses: number;
  batch: number;
  seed: string;
  /** Parameter names in PyTorch's named_parameters() order. */
  parameters: string[];
}

/**
 * The model of a fixture's case (default 'reduced'), with every parameter set from `<case>.param.<name>`
 * of `parameterSource` (default: the same fixture). Its dropout layers draw the masks the script
 * replicated, because the seed is the fixture's.
 */
export function loadReducedPreset(
  fixture: Fixture,
  caseName = 'reduced',
  parameterSource: Fixture = fixture,
): { model: AlexNet; config: ReducedPresetConfig } {
  const config = fixture.cases.find((c) => c.name === caseName) as unknown as ReducedPresetConfig;
  const model = createAlexNet({
    preset: config.preset,
    width: config.width,
    inputSize: config.inputSize,
    inChannels: config.inChannels,
    numClasses: config.numClasses,
    seed: BigInt(config.seed),
    backend: 'cpu',
  });
  const named = model.namedParameters();
  expect(
    named.map(([name]) => name),
    'parameter names, in order',
  ).toEqual(config.parameters);
  for (const [name, p] of named) p.set(cpuTensor(parameterSource.get(`reduced.param.${name}`)));
  return { model, config };
}
