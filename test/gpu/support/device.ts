/**
 * Which backend the GPU suite tests, and skipping (visibly) where it cannot run.
 *
 * The suite compares the backend under test (normally CUDA) with the CPU build and with PyTorch's
 * fixtures. Where no CUDA device is usable, every GPU test file skips itself and the summary
 * printed at the end of the run (globalSetup.ts) says why.
 *
 * Environment:
 * - ALEXNET_REQUIRE_CUDA=1 turns "CUDA unavailable" into a failure instead of a skip: set it on the
 *   GPU machine, so that a CUDA build that does not load cannot pass as a row of skipped tests.
 * - ALEXNET_GPU_TEST_BACKEND=cpu rehearses the suite on the CPU build (every comparison is then the
 *   CPU against itself). It checks the suite's own plumbing on a machine without a GPU; it says
 *   nothing about the CUDA backend, and the summary labels such a run as a rehearsal.
 */
import { describe, it } from 'vitest';

import { backendAvailability, getBackend, type Backend, type BackendKind } from '../../../lib/backend/backend';
import { checkThat, recordInfo, recordSkip } from './report';

function backendUnderTest(): BackendKind {
  const value = process.env.ALEXNET_GPU_TEST_BACKEND ?? 'cuda';
  if (value !== 'cuda' && value !== 'cpu') {
    throw new TypeError(`ALEXNET_GPU_TEST_BACKEND must be 'cuda' or 'cpu', got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The backend the GPU suite checks: 'cuda', or 'cpu' in a rehearsal. */
export const deviceKind: BackendKind = backendUnderTest();

/** True when the suite runs against the CPU build to check its own plumbing (no CUDA involved). */
export const rehearsal = deviceKind === 'cpu';

/** Set on the GPU machine: a CUDA backend that cannot run fails the suite instead of skipping it. */
export const cudaRequired = process.env.ALEXNET_REQUIRE_CUDA === '1';

function whyUnavailable(): string | null {
  if (rehearsal) return null;
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
 * A describe block that runs only where the backend under test can run; elsewhere its tests are
 * reported as skipped, with the reason in the block's title and in the end-of-run summary (or, with
 * ALEXNET_REQUIRE_CUDA=1, as one failing test). The body must not touch the device while tests
 * are being collected: do that inside `it` and `beforeAll`.
 */
export function describeOnDevice(title: string, body: () => void): void {
  if (rehearsal) recordInfo('rehearsal', true);
  if (unavailableReason === null) {
    describe(title, body);
    return;
  }
  if (cudaRequired) {
    describe(title, () => {
      it('needs a usable CUDA backend (ALEXNET_REQUIRE_CUDA=1)', () => {
        checkThat('CUDA backend available (ALEXNET_REQUIRE_CUDA=1)', title, false, unavailableReason);
      });
    });
    return;
  }
  recordSkip(title, unavailableReason);
  describe.skip(`${title} (skipped: ${unavailableReason})`, body);
}
