/**
 * Which backend the tests run on, and skipping (visibly) where it cannot run.
 *
 * The per-op tests (test/ops) are written once and run in both suites:
 * - the CPU suite (`npm test`, vitest.config.ts) runs them on the CPU build against PyTorch's
 *   fixtures. There the backend under test is the CPU: device() returns it, describeOnDevice is a
 *   plain describe, describeDeviceOnly blocks are not registered, and nothing is recorded for a
 *   report.
 * - the GPU suite (`npm run test:gpu`, vitest.gpu.config.ts, which sets ALEXNET_TEST_DEVICE) runs
 *   them on the device, and runs the device-only blocks as well: comparisons with the CPU build at
 *   AlexNet's shapes, TF32, bit-for-bit masks and fills. Where no CUDA device is usable, every file
 *   skips itself and the summary printed at the end of the run (globalSetup.ts) says why. The
 *   files of test/gpu (whole models, training, memory, backend info) run only in this suite.
 *
 * Environment:
 * - ALEXNET_TEST_DEVICE: the device under test, 'cuda' or 'cpu'; unset in the CPU suite.
 *   vitest.gpu.config.ts sets it from ALEXNET_GPU_TEST_BACKEND (default 'cuda').
 * - ALEXNET_GPU_TEST_BACKEND=cpu rehearses the GPU suite on the CPU build (every comparison with
 *   the CPU build is then the CPU against itself). It checks the suite's own plumbing on a machine
 *   without a GPU; it says nothing about the CUDA backend, and the summary labels such a run as a
 *   rehearsal.
 * - ALEXNET_REQUIRE_CUDA=1 turns "CUDA unavailable" into a failure instead of a skip: set it on the
 *   GPU machine, so that a CUDA build that does not load cannot pass as a row of skipped tests.
 */
import { describe, it } from 'vitest';

import { backendAvailability, getBackend, type Backend, type BackendKind, type MathMode } from '../../lib/backend/backend';
import { FP32_RTOL, TF32_RTOL } from '../helpers';
import { checkThat, recordInfo, recordSkip } from './report';

function deviceUnderTest(): BackendKind | null {
  const value = process.env.ALEXNET_TEST_DEVICE;
  if (value === undefined || value === '') return null;
  if (value !== 'cuda' && value !== 'cpu') {
    throw new TypeError(
      `expected 'cuda' or 'cpu' for ALEXNET_TEST_DEVICE (set from ALEXNET_GPU_TEST_BACKEND by vitest.gpu.config.ts), got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

const setting = deviceUnderTest();

/** True in the GPU suite: the tests run on the device, and the device-only blocks run too. */
export const onDevice: boolean = setting !== null;

/** The backend under test: the device ('cuda', or 'cpu' in a rehearsal) in the GPU suite, 'cpu' in the CPU suite. */
export const deviceKind: BackendKind = setting ?? 'cpu';

/** True when the GPU suite runs against the CPU build to check its own plumbing (no CUDA involved). */
export const rehearsal = onDevice && deviceKind === 'cpu';

/** Set on the GPU machine: a CUDA backend that cannot run fails the suite instead of skipping it. */
export const cudaRequired = process.env.ALEXNET_REQUIRE_CUDA === '1';

function whyUnavailable(): string | null {
  if (deviceKind === 'cpu') return null;
  const { available, reasons } = backendAvailability().cuda;
  return available ? null : `the CUDA backend cannot run here: ${reasons.join('; ')}`;
}

/** Why the backend under test cannot run here, or null when it can. */
export const unavailableReason: string | null = whyUnavailable();

/** The backend under test. Call it inside tests and hooks only, never while tests are collected. */
export function device(): Backend {
  return getBackend(deviceKind);
}

/** The reference backend. */
export function cpu(): Backend {
  return getBackend('cpu');
}

/**
 * The math modes to test, each with its relative tolerance against an fp32-exact reference: strict
 * fp32 everywhere, and TF32 on the device (the CPU build has no TF32 arithmetic, so its 'tf32' mode
 * would repeat the fp32 results; a rehearsal runs it anyway, as the device would).
 */
export function mathModes(): [MathMode, number][] {
  return onDevice
    ? [
        ['fp32', FP32_RTOL],
        ['tf32', TF32_RTOL],
      ]
    : [['fp32', FP32_RTOL]];
}

function label(): string {
  if (rehearsal) return 'cpu, rehearsing the GPU suite';
  return deviceKind;
}

/**
 * The outer block of every test file of both suites: runs where the backend under test can run
 * (always, in the CPU suite); elsewhere its tests are reported as skipped, with the reason in the
 * block's title and in the end-of-run summary (or, with ALEXNET_REQUIRE_CUDA=1, as one failing
 * test). The title gets the backend under test appended. The body must not touch the backend while
 * tests are being collected: do that inside `it` and `beforeAll`.
 */
export function describeOnDevice(title: string, body: () => void): void {
  const titled = `${title} [${label()}]`;
  if (rehearsal) recordInfo('rehearsal', true);
  if (unavailableReason === null) {
    describe(titled, body);
    return;
  }
  if (cudaRequired) {
    describe(titled, () => {
      it('needs a usable CUDA backend (ALEXNET_REQUIRE_CUDA=1)', () => {
        checkThat('CUDA backend available (ALEXNET_REQUIRE_CUDA=1)', title, false, unavailableReason);
      });
    });
    return;
  }
  recordSkip(title, unavailableReason);
  describe.skip(`${titled} (skipped: ${unavailableReason})`, body);
}

/**
 * A block that compares the device with the CPU build (or checks what only the device does, such
 * as TF32). Registered in the GPU suite only: in the CPU suite the backend under test is the CPU
 * build, and comparing it with itself would test nothing.
 */
export function describeDeviceOnly(title: string, body: () => void): void {
  if (onDevice) describe(title, body);
}
