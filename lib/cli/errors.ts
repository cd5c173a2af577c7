/**
 * How the CLI reports failures: one line naming the command and the problem (no stack trace:
 * set ALEXNET_DEBUG=1 to get one), and an exit code: 2 for usage errors, 1 for everything else.
 * @module
 */
import { UsageError } from './args';

/** Prints `error` for command `command` and returns the exit code. */
export function reportError(command: string, error: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  const e = error instanceof Error ? error : new Error(String(error));
  const prefix = command ? `alexnet ${command}` : 'alexnet';
  // Multi-line messages (such as how to get a dataset) keep their lines; the first says what failed.
  stderr.write(`${prefix}: ${e.message}\n`);
  if (process.env.ALEXNET_DEBUG === '1' && e.stack) stderr.write(`${e.stack}\n`);
  return e instanceof UsageError ? 2 : 1;
}
