/**
 * The flags that choose and set up the backend (--backend, --math, --deterministic), shared by
 * the commands that compute.
 * @module
 */
import { getBackend, type Backend, type BackendChoice, type MathMode } from '../backend/backend';
import { choiceArg, type OptionSpec, type ParsedArgs } from './args';

/** --backend, --math and --deterministic. */
export const BACKEND_OPTIONS: Record<string, OptionSpec> = {
  backend: { type: 'string', value: 'NAME', description: 'auto, cpu or cuda', default: 'auto (CUDA when usable)' },
  math: { type: 'string', value: 'MODE', description: 'GPU math for convolutions and GEMMs: fp32 or tf32', default: 'fp32' },
  deterministic: { type: 'boolean', description: 'only deterministic algorithms (the CPU backend always is)' },
};

/** The backend the flags ask for, set up. */
export function backendFromFlags(values: ParsedArgs['values']): Backend {
  const choice = choiceArg<BackendChoice>(values, 'backend', ['auto', 'cpu', 'cuda'], 'auto');
  const math = choiceArg<MathMode>(values, 'math', ['fp32', 'tf32'], 'fp32');
  const backend = getBackend(choice);
  backend.setMathMode(math);
  if (values.deterministic === true) backend.setDeterministic(true);
  return backend;
}
