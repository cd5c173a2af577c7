/**
 * The flags that choose and set up the backend (--backend, --precision or its older name --math,
 * --deterministic), shared by the commands that compute.
 * @module
 */
import { getBackend, MATH_MODES, type Backend, type BackendChoice, type MathMode } from '../backend/backend';
import { choiceArg, UsageError, type OptionSpec, type ParsedArgs } from './args';

/** --backend, --precision (--math), and --deterministic. */
export const BACKEND_OPTIONS: Record<string, OptionSpec> = {
  backend: { type: 'string', value: 'NAME', description: 'auto, cpu or cuda', default: 'auto (CUDA when usable)' },
  precision: {
    type: 'string',
    value: 'MODE',
    description:
      'fp32; tf32 (GPU convolutions and GEMMs on TF32 tensor cores); bf16 (mixed precision: bfloat16 activations and operands, fp32 sums, weights and optimizer)',
    default: 'fp32',
  },
  math: { type: 'string', value: 'MODE', description: 'the older name of --precision', default: 'fp32' },
  deterministic: { type: 'boolean', description: 'only deterministic algorithms (the CPU backend always is)' },
};

/** The precision the flags ask for, or undefined when neither --precision nor --math is given. */
export function precisionFromFlags(values: ParsedArgs['values']): MathMode | undefined {
  const given = values.precision !== undefined ? choiceArg<MathMode>(values, 'precision', MATH_MODES, 'fp32') : undefined;
  const math = values.math !== undefined ? choiceArg<MathMode>(values, 'math', MATH_MODES, 'fp32') : undefined;
  if (given !== undefined && math !== undefined && given !== math) {
    throw new UsageError(`--precision ${given} conflicts with --math ${math} (the older name of --precision): give one`);
  }
  return given ?? math;
}

/** The backend the flags ask for, set up; `fallbackPrecision` (default fp32) when no precision flag is given. */
export function backendFromFlags(values: ParsedArgs['values'], fallbackPrecision: MathMode = 'fp32'): Backend {
  const choice = choiceArg<BackendChoice>(values, 'backend', ['auto', 'cpu', 'cuda'], 'auto');
  const precision = precisionFromFlags(values) ?? fallbackPrecision;
  const backend = getBackend(choice);
  backend.setMathMode(precision);
  if (values.deterministic === true) backend.setDeterministic(true);
  return backend;
}
