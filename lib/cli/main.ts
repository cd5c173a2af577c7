#!/usr/bin/env node
/**
 * The `alexnet` command: `alexnet <train|eval|predict|import|export|bench|info> [options]`, each with --help.
 * Exit codes: 0 success, 1 failure, 2 usage error, 130 interrupted by Ctrl-C (after saving a
 * checkpoint), 143 stopped by SIGTERM.
 * @module
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { packageRoot } from '../backend/packageRoot';
import { TolerantOutput } from '../io/output';
import { helpText, parseCommand, UsageError } from './args';
import { benchCommand } from './bench';
import { EXIT, type CliIo, type Command } from './command';
import { reportError } from './errors';
import { evalCommand } from './eval';
import { exportCommand } from './export';
import { importCommand } from './import';
import { infoCommand } from './info';
import { predictCommand } from './predict';
import { trainCommand } from './train';

/** The commands, by name. */
export const COMMANDS: Readonly<Record<string, Command>> = Object.freeze({
  train: trainCommand,
  eval: evalCommand,
  predict: predictCommand,
  import: importCommand,
  export: exportCommand,
  bench: benchCommand,
  info: infoCommand,
});

function overview(): string {
  const rows = Object.values(COMMANDS).map((c) => `  ${c.spec.name.padEnd(9)}${c.spec.summary}`);
  return [
    'alexnet: AlexNet training and inference on the GPU (cuDNN, cuBLAS) or the CPU (oneDNN)',
    '',
    'usage: alexnet <command> [options]',
    '',
    'commands:',
    ...rows,
    '',
    'alexnet <command> --help shows the options of a command; alexnet --version the version.',
  ].join('\n');
}

/**
 * Runs the CLI with `argv` (without node and the script) and returns the exit code. A closed
 * stdout or stderr (`alexnet train | head`, or tee ended by Ctrl-C) never ends the command: its
 * output is dropped, its work (saving a checkpoint) goes on.
 */
export async function main(argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const guards = [new TolerantOutput(io.stdout), new TolerantOutput(io.stderr)];
  try {
    return await run(argv, io);
  } finally {
    for (const guard of guards) guard.release();
  }
}

async function run(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${overview()}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-v') {
    const pkg = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
    io.stdout.write(`${pkg.version}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS[name];
  if (!command)
    return reportError(
      '',
      new UsageError(`unknown command ${JSON.stringify(name)}: use one of ${Object.keys(COMMANDS).join(', ')}`),
      io.stderr,
    );
  try {
    const args = parseCommand(command.spec, rest);
    if (args.values.help === true) {
      io.stdout.write(`${helpText(command.spec)}\n`);
      return EXIT.ok;
    }
    return await command.run(args, io);
  } catch (error) {
    return reportError(name, error, io.stderr);
  }
}

/** Last resort: a failure nothing caught (a bug) is still one line, and the exit code says so. */
function installLastResort(): void {
  const fail = (kind: string) => (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.exitCode = reportError('', new Error(`internal error (${kind}), please report it: ${message}`));
    if (process.env.ALEXNET_DEBUG === '1') process.stderr.write(`${(error as Error)?.stack ?? ''}\n`);
    process.exit();
  };
  process.on('uncaughtException', fail('uncaught exception'));
  process.on('unhandledRejection', fail('unhandled rejection'));
}

if (require.main === module) {
  installLastResort();
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.exitCode = reportError('', error);
    },
  );
}
