/**
 * Argument checks, in one place for the whole library: each returns the checked value or throws a
 * TypeError (wrong kind of value) or RangeError (right kind, out of range) whose message names the
 * parameter, says what was expected and what came: `batchSize must be a positive integer, got 0`.
 * Native code checks only shapes and memory safety; types and ranges are checked here, once.
 *
 * This module imports nothing of the library, so any module may use it.
 * @internal
 * @module
 */

/**
 * Array.isArray without narrowing a typed argument to any[]: arguments are checked at run time
 * because JavaScript callers can pass anything, but their declared type should survive the check.
 */
export function isArray(value: unknown): boolean {
  return Array.isArray(value);
}

/** A short description of a value for error messages: `0`, `"fast"`, `an array of length 3`, `a Tensor of shape [2, 3]`. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'object') {
    const name = value.constructor?.name ?? 'Object';
    const shape = (value as { shape?: unknown }).shape;
    if (name === 'Tensor' && Array.isArray(shape)) return `a Tensor of shape [${shape.join(', ')}]`;
    return `an object (${name})`;
  }
  return typeof value;
}

/** A finite number. */
export function finiteNumber(value: unknown, name: string): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  if (!Number.isFinite(value)) throw new RangeError(`${name} must be finite, got ${value}`);
  return value;
}

/** A finite number above zero. */
export function positiveNumber(value: unknown, name: string): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a positive number, got ${describe(value)}`);
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, got ${describe(value)}`);
  return value;
}

/** A positive integer. */
export function positiveInt(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${name} must be a positive integer, got ${describe(value)}`);
  }
  if (value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

/** A non-negative integer. */
export function nonNegativeInt(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${name} must be a non-negative integer, got ${describe(value)}`);
  }
  if (value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  return value;
}

/** A number in [min, max) (or [min, max] when `inclusiveMax`). */
export function numberIn(value: unknown, name: string, min: number, max: number, inclusiveMax = false): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  const ok = value >= min && (inclusiveMax ? value <= max : value < max);
  if (!ok || Number.isNaN(value)) {
    throw new RangeError(`${name} must be in [${min}, ${max}${inclusiveMax ? ']' : ')'}, got ${describe(value)}`);
  }
  return value;
}

/** One value, or a [height, width] pair, each checked by `check`. */
export function pairOf(value: unknown, name: string, check: (v: unknown, n: string) => number): [number, number] {
  if (Array.isArray(value)) {
    if (value.length !== 2) throw new RangeError(`${name} must be a number or [height, width], got ${describe(value)}`);
    return [check(value[0], `${name}[0]`), check(value[1], `${name}[1]`)];
  }
  const v = check(value, name);
  return [v, v];
}

/** One of `choices`. */
export function oneOf<T extends string>(value: unknown, choices: readonly T[], name: string): T {
  if (typeof value !== 'string' || !choices.includes(value as T)) {
    throw new TypeError(`${name} must be one of ${choices.join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

/** A boolean. */
export function boolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be true or false, got ${describe(value)}`);
  return value;
}

/** A seed: a non-negative integer below 2^64, as a safe-integer number or a bigint. */
export function seedValue(value: unknown, name: string): bigint {
  if (typeof value === 'bigint') {
    if (value < 0n || value >= 1n << 64n) throw new RangeError(`${name} must be an integer in [0, 2^64), got ${value}`);
    return value;
  }
  if (typeof value !== 'number') throw new TypeError(`${name} must be a non-negative integer or a bigint, got ${describe(value)}`);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer (or a bigint), got ${describe(value)}`);
  }
  return BigInt(value);
}

/**
 * An options object (`undefined` counts as empty) whose keys are all among `known`: a misspelt
 * option is an error naming it and the closest known one, never silently ignored.
 */
export function options<T extends object>(value: T | undefined | null, known: readonly (keyof T & string)[], name: string): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${name} must be an object, got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!(known as readonly string[]).includes(key)) {
      const near = closest(key, known);
      throw new TypeError(
        `${name}: unknown option ${JSON.stringify(key)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}; known: ${known.join(', ')}`,
      );
    }
  }
  return value;
}

/** The known name within edit distance 2 of `key` (case-insensitive), if any. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
