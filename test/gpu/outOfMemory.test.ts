/**
 * Running out of device memory is an error the process survives: the allocation (or the op that
 * needed it) throws OutOfMemoryError with a message that says how much was asked for and what to
 * do, tensors can still be disposed, and the next training step runs.
 *
 * Two ways: one absurd allocation (1 TiB), and filling the device for real with allocations of
 * decreasing size until the smallest fails, then a training step (which must fail the same way),
 * then freeing everything and training again. The second is skipped in a rehearsal on the CPU
 * build, where the host's memory overcommit would let the filling run without end.
 */
import { it } from 'vitest';

import { BackendError, OutOfMemoryError } from '../../lib/errors';
import { createAlexNet } from '../../lib/models/alexnet';
import { SGD } from '../../lib/optim/sgd';
import { Tensor } from '../../lib/tensor';
import { describeOnDevice, device, rehearsal } from '../support/device';
import { checkThat } from '../support/report';
import { syntheticBatches, trainStep, type HostBatch } from './support/training';

const GROUP = 'out-of-memory recovery';
const MiB = 1 << 20;
/** Allocation sizes while filling the device, in bytes: large first, then ever smaller. */
const FILL_SIZES = [4096 * MiB, 256 * MiB, 16 * MiB, MiB];

/** Runs `fn` and returns what it threw (undefined if nothing). */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

function describeError(error: unknown): string {
  if (error === undefined) return 'nothing was thrown';
  if (error instanceof Error) return `${error.constructor.name} (${(error as { code?: string }).code ?? 'no code'}): ${error.message}`;
  return `a non-Error: ${JSON.stringify(error)}`;
}

/** Checks that `error` is an OutOfMemoryError of the device with a useful message. */
function checkOutOfMemory(name: string, error: unknown): void {
  const memory = rehearsal ? 'host' : 'device';
  const ok =
    error instanceof OutOfMemoryError &&
    error instanceof BackendError &&
    error.code === 'ERR_OUT_OF_MEMORY' &&
    new RegExp(`out of ${memory} memory`, 'i').test(error.message) &&
    /\d+ MiB/.test(error.message);
  checkThat(
    GROUP,
    name,
    ok,
    `expected an OutOfMemoryError saying "out of ${memory} memory" and the size in MiB; got ${describeError(error)}`,
  );
}

async function stepLoss(model: ReturnType<typeof createAlexNet>, optimizer: SGD, batch: HostBatch): Promise<number> {
  const loss = trainStep(model, optimizer, batch, device());
  const value = ((await loss.toArray()) as Float32Array)[0];
  loss.dispose();
  return value;
}

describeOnDevice('running out of device memory', () => {
  it('an absurd allocation throws OutOfMemoryError, leaves nothing allocated, and training goes on', async () => {
    const dev = device();
    const model = createAlexNet({ preset: 'd2l', width: 0.25, inputSize: 96, seed: 5, backend: dev });
    const optimizer = new SGD(
      model.namedParameters().map(([, p]) => p),
      { lr: 0.01, momentum: 0.9 },
    );
    const [batch] = await syntheticBatches({ batches: 1, batchSize: 8, channels: 1, size: 96, classes: 10, seed: 5 });
    try {
      checkThat(GROUP, 'a training step before', Number.isFinite(await stepLoss(model, optimizer, batch)), 'finite loss');
      await dev.synchronize();
      const before = dev.memoryStats().bytesInUse;
      const error = thrownBy(() => Tensor.empty([1 << 20, 1 << 18], { backend: dev })); // 2^38 floats: 1 TiB
      checkOutOfMemory('Tensor.empty of 1 TiB throws OutOfMemoryError', error);
      const after = dev.memoryStats().bytesInUse;
      checkThat(GROUP, 'the failed allocation holds nothing', after === before, `bytes in use ${before} before, ${after} after`);
      const loss = await stepLoss(model, optimizer, batch);
      checkThat(GROUP, 'a training step after the absurd allocation', Number.isFinite(loss), `loss ${loss}`);
    } finally {
      optimizer.dispose();
      model.dispose();
    }
  });

  it.skipIf(rehearsal)(
    `filling the device until allocation fails, then freeing it, lets training go on${rehearsal ? ' (skipped: not on the CPU build, whose host memory overcommits)' : ''}`,
    async () => {
      const dev = device();
      const model = createAlexNet({ preset: 'd2l', width: 0.25, inputSize: 96, seed: 6, backend: dev });
      const optimizer = new SGD(
        model.namedParameters().map(([, p]) => p),
        { lr: 0.01, momentum: 0.9 },
      );
      const [batch] = await syntheticBatches({ batches: 1, batchSize: 8, channels: 1, size: 96, classes: 10, seed: 6 });
      // The device's size bounds the filling loop; should info() not report it, 256 GiB still bounds it.
      const reported = Number(dev.info().totalMemory);
      const total = Number.isFinite(reported) && reported > 0 ? reported : 256 * 2 ** 30;
      const chunks: Tensor[] = [];
      let held = 0;
      try {
        // Warm up first: every kernel loaded and every algorithm chosen while memory is free.
        checkThat(GROUP, 'a training step before filling', Number.isFinite(await stepLoss(model, optimizer, batch)), 'finite loss');
        await dev.synchronize();
        let lastError: unknown;
        for (const bytes of FILL_SIZES) {
          const limit = Math.ceil(total / bytes) + 8; // never loop without end, whatever the device reports
          for (let i = 0; i < limit; i++) {
            const error = thrownBy(() => chunks.push(Tensor.empty([bytes / 4], { backend: dev })));
            if (error !== undefined) {
              lastError = error;
              break;
            }
            held += bytes;
          }
        }
        checkOutOfMemory(`filling the device: the allocation after ${(held / 2 ** 30).toFixed(1)} GiB throws OutOfMemoryError`, lastError);
        checkThat(
          GROUP,
          'the filling held most of the device',
          held > 0.8 * total,
          `held ${(held / 2 ** 30).toFixed(1)} GiB of ${(total / 2 ** 30).toFixed(1)} GiB`,
          { tolerance: '> 80% held' },
        );

        const stepError = thrownBy(() => trainStep(model, optimizer, batch, dev).dispose());
        checkOutOfMemory('a training step on the full device throws OutOfMemoryError', stepError);
        model.clearSaved(); // what the failed step kept for its backward pass

        for (const c of chunks.splice(0)) c.dispose();
        const loss = await stepLoss(model, optimizer, batch);
        checkThat(GROUP, 'a training step after freeing the device', Number.isFinite(loss), `loss ${loss}`);
        dev.emptyCache();
        checkThat(
          GROUP,
          'emptyCache then holds no cached block',
          dev.memoryStats().bytesCached === 0,
          `${dev.memoryStats().bytesCached} bytes cached`,
        );
      } finally {
        for (const c of chunks) c.dispose();
        optimizer.dispose();
        model.dispose();
      }
    },
  );
});
