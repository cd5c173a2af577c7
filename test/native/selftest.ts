/**
 * Runs a build of the native self-test (test/native/selftest/, built by `npm run build:native` as
 * build/selftest/alexnet_selftest_<flavour>) and reads its report: one `PASS name: detail` or
 * `FAIL name: detail` line per check, then `N of M checks failed`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Where `npm run build:native` (cmake-js, build folder `build`) puts the self-test of a flavour. */
export function selftestBinary(flavour: 'cpu' | 'cuda'): string {
  return join(__dirname, '..', '..', 'build', 'selftest', `alexnet_selftest_${flavour}`);
}

export interface SelftestRun {
  /** The process's exit status (null when it was killed, e.g. by a signal or the timeout). */
  status: number | null;
  signal: NodeJS.Signals | null;
  passed: string[];
  failed: string[];
  /** The last line, `N of M checks failed`, when the run got that far. */
  summary: string | undefined;
  output: string;
}

/** Runs the self-test binary with `args` and collects its checks. */
export function runSelftest(binary: string, args: string[], timeoutMs: number): SelftestRun {
  if (!existsSync(binary)) {
    throw new Error(`the native self-test ${binary} is not built: run \`npm run build:native\``);
  }
  const run = spawnSync(binary, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 2 ** 20 });
  if (run.error) throw run.error;
  const output = `${run.stdout}${run.stderr}`;
  const lines = output.split('\n');
  return {
    status: run.status,
    signal: run.signal,
    passed: lines.filter((l) => l.startsWith('PASS ')),
    failed: lines.filter((l) => l.startsWith('FAIL ')),
    summary: lines.find((l) => /^\d+ of \d+ checks failed$/.test(l)),
    output,
  };
}
