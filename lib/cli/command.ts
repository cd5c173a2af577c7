/**
 * What each `alexnet` command provides: its options (which also make its --help) and a run
 * function returning the exit code.
 * @module
 */
import type { Writable } from 'node:stream';

import type { CommandSpec, ParsedArgs } from './args';

/** Where a command writes. */
export interface CliIo {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable;
}

/** A command: its options and what it runs. */
export interface Command {
  spec: CommandSpec;
  run(args: ParsedArgs, io: CliIo): Promise<number>;
}

/** Exit codes. */
export const EXIT = Object.freeze({ ok: 0, failure: 1, usage: 2, interrupted: 130, terminated: 143 });
