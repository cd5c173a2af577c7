/**
 * Limits that stop resource bombs before the work starts: a small file that asks for gigabytes
 * (a 249 KB PNG of 16000x16000 pixels, a 3 MB IDX .gz that inflates to 3 GB, a checkpoint whose
 * stored preprocessing resizes to 30000x30000) is refused with an error that names the limit and
 * how to raise it. The defaults are far above what AlexNet's datasets need; change them with
 * {@link setLimits} or the environment variables ALEXNET_MAX_IMAGE_PIXELS and
 * ALEXNET_MAX_DECOMPRESSED_BYTES (read once, at first use).
 * @module
 */
import { options as checkOptions, positiveInt } from './validate';

/** The limits; see the module notes. */
export interface Limits {
  /**
   * The most pixels (width times height) an image may have: when decoded from a file, and as the
   * output of a resize or crop. Default 67,108,864 (8192x8192, a float32 RGB copy of it is 768 MiB).
   */
  maxImagePixels: number;
  /** The most bytes a compressed dataset file (IDX .gz) may inflate to. Default 1,073,741,824 (1 GiB). */
  maxDecompressedBytes: number;
}

/** The defaults of every limit. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxImagePixels: 8192 * 8192,
  maxDecompressedBytes: 1024 ** 3,
});

const ENV: Readonly<Record<keyof Limits, string>> = Object.freeze({
  maxImagePixels: 'ALEXNET_MAX_IMAGE_PIXELS',
  maxDecompressedBytes: 'ALEXNET_MAX_DECOMPRESSED_BYTES',
});

let current: Limits | undefined;

function fromEnvironment(): Limits {
  const limits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(ENV) as (keyof Limits)[]) {
    const text = process.env[ENV[key]];
    if (text === undefined || text === '') continue;
    limits[key] = positiveInt(Number(text), `${ENV[key]} (${JSON.stringify(text)})`);
  }
  return limits;
}

/** The limits in force. */
export function getLimits(): Readonly<Limits> {
  current ??= fromEnvironment();
  return current;
}

/** Changes some limits for the whole process (each a positive integer; unknown keys are errors). */
export function setLimits(limits: Partial<Limits>): void {
  const o = checkOptions(limits, ['maxImagePixels', 'maxDecompressedBytes'], 'setLimits');
  const next = { ...getLimits() };
  for (const key of Object.keys(o) as (keyof Limits)[]) next[key] = positiveInt(o[key], key);
  current = next;
}

/** How to raise a limit, for messages: `raise it with setLimits({ maxImagePixels }) or ALEXNET_MAX_IMAGE_PIXELS`. */
export function raiseHint(key: keyof Limits): string {
  return `raise it with setLimits({ ${key} }) or ${ENV[key]}`;
}

/** Throws a RangeError naming `what` and the limit when `height` x `width` exceeds maxImagePixels. */
export function checkImagePixels(height: number, width: number, what: string): void {
  const max = getLimits().maxImagePixels;
  if (height * width > max) {
    throw new RangeError(
      `${what} is ${width}x${height} = ${(height * width).toLocaleString('en-US')} pixels, more than the limit of ` +
        `${max.toLocaleString('en-US')} (maxImagePixels; ${raiseHint('maxImagePixels')})`,
    );
  }
}
