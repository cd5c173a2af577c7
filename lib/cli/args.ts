/**
 * Command-line parsing for the `alexnet` commands: node:util's parseArgs (strict) with option
 * descriptions that also produce each command's --help, and converters that turn flag text into
 * checked numbers and choices with one-line errors naming the flag.
 * @module
 */
import { parseArgs } from 'node:util';

/** A user mistake on the command line: printed as one line, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly exitCode = 2;
}

/** One option of a command: its type, short flag and help text. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Placeholder in the help ('N', 'PATH'). */
  value?: string;
  description: string;
  /** The default as shown in the help. */
  default?: string;
}

/** A command's name, help text and options. */
export interface CommandSpec {
  name: string;
  summary: string;
  /** Usage line after `alexnet <name>`. */
  usage: string;
  options: Record<string, OptionSpec>;
  /** Whether free arguments (files) are taken. */
  positionals?: boolean;
  /** Notes and examples printed after the options. */
  notes?: string[];
}

/** Options every command takes. */
export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

/** What parsing gives: option values (only those given) and free arguments. */
export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** Parses `argv` (after the command name) against a command's options; unknown flags are usage errors. */
export function parseCommand(spec: CommandSpec, argv: string[]): ParsedArgs {
  const all = { ...spec.options, ...COMMON_OPTIONS };
  const options = Object.fromEntries(
    Object.entries(all).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}) }]),
  );
  try {
    const { values, positionals } = parseArgs({
      args: attachNegativeNumbers(all, argv),
      options,
      strict: true,
      allowPositionals: spec.positionals === true,
    });
    return { values: values, positionals };
  } catch (error) {
    // parseArgs' messages are long and mention its own API; keep the gist and point at --help.
    const message = (error as Error).message.split('\n')[0]!.replace(/\. To specify a positional argument.*$/, '');
    throw new UsageError(`${message} (see alexnet ${spec.name} --help)`);
  }
}

const NUMBER = /^-(\d|\.\d|Infinity$|inf$|nan$)/i;

/**
 * `--epochs -5` becomes `--epochs=-5`: parseArgs takes a value starting with a dash for another
 * option and says "argument is ambiguous"; a number there is the value, and the converters then
 * say what is wrong with it ("--epochs must be at least 1, got -5").
 */
function attachNegativeNumbers(options: Record<string, OptionSpec>, argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const long = /^--([^=]+)$/.exec(arg)?.[1];
    const name = long ?? Object.entries(options).find(([, o]) => o.short !== undefined && arg === `-${o.short}`)?.[0];
    const next = argv[i + 1];
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && NUMBER.test(next)) {
      out.push(`--${name}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** The --help text of a command. */
export function helpText(spec: CommandSpec): string {
  const rows = Object.entries({ ...spec.options, ...COMMON_OPTIONS }).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    const text = o.default !== undefined ? `${o.description} (default: ${o.default})` : o.description;
    return [flag, text] as const;
  });
  const width = Math.min(34, Math.max(...rows.map(([f]) => f.length)) + 2);
  const lines = rows.map(([flag, text]) =>
    flag.length + 2 > width ? `  ${flag}\n  ${' '.repeat(width)}${text}` : `  ${flag.padEnd(width)}${text}`,
  );
  return [
    `alexnet ${spec.name}: ${spec.summary}`,
    '',
    `usage: alexnet ${spec.name} ${spec.usage}`,
    '',
    'options:',
    ...lines,
    ...(spec.notes?.length ? ['', ...spec.notes] : []),
  ].join('\n');
}

function raw(values: ParsedArgs['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A string flag, or `fallback`. */
export function stringArg(values: ParsedArgs['values'], name: string, fallback: string): string;
export function stringArg(values: ParsedArgs['values'], name: string): string | undefined;
export function stringArg(values: ParsedArgs['values'], name: string, fallback?: string): string | undefined {
  return raw(values, name) ?? fallback;
}

/** An integer flag (at least `min`, default 1), or `fallback`. */
export function intArg(values: ParsedArgs['values'], name: string, fallback: number, min?: number): number;
export function intArg(values: ParsedArgs['values'], name: string, fallback: undefined, min?: number): number | undefined;
export function intArg(values: ParsedArgs['values'], name: string, fallback: number | undefined, min = 1): number | undefined {
  const text = raw(values, name);
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!/^[+-]?\d+$/.test(text.trim()) || !Number.isSafeInteger(v))
    throw new UsageError(`--${name} must be an integer, got ${JSON.stringify(text)}`);
  if (v < min) throw new UsageError(`--${name} must be at least ${min}, got ${v}`);
  return v;
}

/** A number flag within [min, max], or `fallback`. */
export function numberArg(values: ParsedArgs['values'], name: string, fallback: number, min = -Infinity, max = Infinity): number {
  const text = raw(values, name);
  if (text === undefined) return fallback;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v)) throw new UsageError(`--${name} must be a number, got ${JSON.stringify(text)}`);
  if (v < min || v > max) {
    const range = max === Infinity ? `at least ${min}` : min === -Infinity ? `at most ${max}` : `in [${min}, ${max}]`;
    throw new UsageError(`--${name} must be ${range}, got ${v}`);
  }
  return v;
}

/** One of `choices`, or `fallback`. */
export function choiceArg<T extends string>(values: ParsedArgs['values'], name: string, choices: readonly T[], fallback: T): T {
  const text = raw(values, name);
  if (text === undefined) return fallback;
  if (!choices.includes(text as T)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got ${JSON.stringify(text)}`);
  return text as T;
}

/** 'auto' or a non-negative integer. */
export function autoOrIntArg(values: ParsedArgs['values'], name: string): number | 'auto' {
  const text = raw(values, name);
  if (text === undefined || text === 'auto') return 'auto';
  return intArg(values, name, 0, 0);
}
