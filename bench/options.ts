/**
 * Command-line flags shared by the benchmark scripts, parsed with node:util's parseArgs and checked
 * with messages that name the flag.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

// Direct module imports keep the benchmarks from loading what they do not use (image decoding).
import { intArg } from '../lib/cli/args';
import { PRESETS, type PresetName } from '../lib/models/alexnet';

/** Parses argv with `options`; unknown flags and positionals are errors naming them. */
export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(options: T, usage: string) {
  try {
    return parseArgs({ args: process.argv.slice(2), options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${usage}`);
    process.exit(2);
  }
}

/** A comma-separated list of presets ('all' for every one). */
export function presetList(value: string | undefined, fallback: readonly PresetName[], flag = '--presets'): PresetName[] {
  if (value === undefined) return [...fallback];
  if (value === 'all') return [...PRESETS];
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!PRESETS.includes(name as PresetName)) {
      throw new TypeError(`${flag}: ${JSON.stringify(name)} is not a preset (one of ${PRESETS.join(', ')}, or all)`);
    }
  }
  if (names.length === 0) throw new RangeError(`${flag} must name at least one preset`);
  return names as PresetName[];
}

/** A comma-separated list of positive integers. */
export function intList(value: string | undefined, fallback: readonly number[], flag: string): number[] {
  if (value === undefined) return [...fallback];
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new RangeError(`${flag} must list at least one positive integer`);
  return items.map((item) => positive(item, flag, 1));
}

/** One positive integer (or the fallback when the flag is absent), checked as the alexnet command checks its flags. */
export function positive(value: string | undefined, flag: string, fallback: number): number {
  return intArg({ [flagName(flag)]: value }, flagName(flag), fallback, 1);
}

/** One non-negative integer (or the fallback when the flag is absent). */
export function nonNegative(value: string | undefined, flag: string, fallback: number): number {
  return intArg({ [flagName(flag)]: value }, flagName(flag), fallback, 0);
}

function flagName(flag: string): string {
  return flag.replace(/^--/, '');
}
