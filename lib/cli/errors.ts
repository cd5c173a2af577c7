/**
 * How the CLI reports failures: one line naming the command and the problem (no stack trace:
 * set ALEXNET_DEBUG=1 to get one), and an exit code: 2 for usage errors, 1 for everything else.
 * @module
 */
import { UsageError } from './args';

/**
 * A message on one line: the lines of a multi-line message (such as the list of what a backend
 * lacks, or the ways to get a dataset) joined with "; " (after a colon, a space), list markers
 * dropped; a line indented deeper than the one before, without a marker, continues it.
 */
export function oneLine(message: string): string {
  let out = '';
  let indent = 0;
  for (const raw of message.split(/\r?\n/)) {
    const text = raw.trim();
    if (text.length === 0) continue;
    const depth = raw.length - raw.trimStart().length;
    const marker = /^[-*] /.test(text);
    const line = marker ? text.slice(2) : text;
    if (out.length === 0) out = line;
    else if (/:$/.test(out) || (!marker && depth > indent)) out = `${out} ${line}`;
    else out = /[;,]$/.test(out) ? `${out} ${line}` : `${out}; ${line}`;
    indent = depth;
  }
  return out;
}

/** Prints `error` for command `command` (on one line) and returns the exit code. */
export function reportError(command: string, error: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  const e = error instanceof Error ? error : new Error(String(error));
  const prefix = command ? `alexnet ${command}` : 'alexnet';
  try {
    stderr.write(`${prefix}: ${oneLine(e.message) || e.name}\n`);
    if (process.env.ALEXNET_DEBUG === '1' && e.stack) stderr.write(`${e.stack}\n`);
  } catch {
    // stderr itself is gone: the exit code still tells.
  }
  return e instanceof UsageError || (e as { exitCode?: unknown }).exitCode === 2 ? 2 : 1;
}
