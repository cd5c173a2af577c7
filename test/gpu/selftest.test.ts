/**
 * The native self-test (test/native/selftest/) on the CUDA build: every op of the backend
 * interface against double-precision references, through the op interface alone (no Node.js in
 * between), plus what only the CUDA build has: cuDNN's fused convolution call with a NaN-filled
 * output, more than the 1 GiB of pinned staging in flight, and, in a process of its own, a sticky
 * device error reported as DeviceLostError. Each check of the binary is one row of the report.
 * The CPU suite runs the same checks against the CPU build (test/native/selftest.test.ts).
 *
 * Tolerances are the self-test's own (in each file of test/native/selftest/): fp32 1e-4, tf32 1e-2,
 * bit for bit where the CPU formula is exact (fills, dropout, ReLU, SGD).
 */
import { expect, it } from 'vitest';

import { runSelftest, selftestBinary, type SelftestRun } from '../native/selftest';
import { describeOnDevice, rehearsal } from '../support/device';
import { checkThat } from '../support/report';

const GROUP = 'native self-test';

function record(run: SelftestRun): void {
  for (const line of [...run.passed, ...run.failed]) {
    const [name, ...detail] = line.slice(5).split(': ');
    checkThat(GROUP, name ?? line, line.startsWith('PASS '), detail.join(': '));
  }
  checkThat(
    GROUP,
    'the self-test ran to the end and exited 0',
    run.status === 0 && run.summary !== undefined,
    `exit ${String(run.status)}${run.signal ? ` (${run.signal})` : ''}; ${run.summary ?? 'no summary line'}`,
  );
}

describeOnDevice('native self-test on the CUDA build', () => {
  it(`every check, at full size${rehearsal ? ' (a rehearsal: the CPU build)' : ''}`, () => {
    const run = runSelftest(selftestBinary(rehearsal ? 'cpu' : 'cuda'), ['--checks'], 590_000);
    record(run);
    expect(run.passed.length, run.output).toBeGreaterThanOrEqual(130);
  });

  it.skipIf(rehearsal)(
    `a sticky device error becomes DeviceLostError, and the backend closes${rehearsal ? ' (skipped: a rehearsal on the CPU build)' : ''}`,
    () => {
      record(runSelftest(selftestBinary('cuda'), ['--fault'], 120_000));
    },
  );
});
