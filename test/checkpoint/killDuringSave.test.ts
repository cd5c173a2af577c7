import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, watch } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { readCheckpoint } from '../../lib/checkpoint/format';
import { removeStaleTempFiles } from '../../lib/io/atomicWrite';
import { Rng } from '../../lib/data/rng';
import { distRoot, ensureDist } from '../cli/dist';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'alexnet-kill-'));
const children = new Set<ChildProcess>();
afterAll(() => {
  // A failed or timed-out test must not leave a saver looping behind.
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

/** A child that writes the same checkpoint file over and over, saying when each write starts and ends. */
function saver(file: string, start: number): string {
  return `
const { createAlexNet } = require(${JSON.stringify(path.join(distRoot, 'index.js'))});
const { encodeCheckpoint } = require(${JSON.stringify(path.join(distRoot, 'checkpoint', 'format.js'))});
const { writeFileAtomic } = require(${JSON.stringify(path.join(distRoot, 'io', 'atomicWrite.js'))});
(async () => {
  const model = createAlexNet({ preset: 'torchvision', width: 0.25, numClasses: 10, seed: 1, backend: 'cpu' });
  for (let i = ${start}; ; i++) {
    const bytes = await encodeCheckpoint(model, { metadata: { round: String(i) } });
    process.stdout.write('writing ' + i + '\\n');
    await writeFileAtomic(${JSON.stringify(file)}, bytes);
    process.stdout.write('saved ' + i + '\\n');
  }
})();
`;
}

/** The temporary files writeFileAtomic has open in `dir` (named .<file>.<pid>.<hex>.tmp). */
function tempFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.tmp'));
}

/**
 * Starts a saver and kills it with SIGKILL during its second or third write: either `atOnce` (as soon as
 * the write's temporary file appears, so the kill lands between open and rename) or a random 0-30 ms after
 * the write starts (a write of these 15 MB with fsync takes about that long: before, during or after).
 * Resolves with the round the last completed save wrote and the round being written when killed.
 */
async function killDuringWrite(dir: string, file: string, start: number, rng: Rng, atOnce: boolean): Promise<{ lastSaved: number; killedDuring: number }> {
  const child = spawn(process.execPath, ['-e', saver(file, start)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  let lastSaved = -1;
  let killedDuring = -1;
  let armed = false;
  const watcher = watch(dir, (_event, name) => {
    if (armed && typeof name === 'string' && name.endsWith('.tmp')) child.kill('SIGKILL');
  });
  try {
    await new Promise<void>((resolve, reject) => {
      let buffered = '';
      let writes = 0;
      const target = 2 + rng.int(2);
      child.stdout!.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          const [what, n] = line.split(' ');
          if (what === 'saved') lastSaved = Number(n);
          if (what === 'writing' && ++writes === target) {
            killedDuring = Number(n);
            if (atOnce) armed = true;
            else setTimeout(() => child.kill('SIGKILL'), rng.int(31));
          }
        }
      });
      child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`saver exited with ${code ?? signal}`))));
    });
  } finally {
    clearTimeout(guard);
    watcher.close();
  }
  return { lastSaved, killedDuring };
}

describe('killing the process while it saves', () => {
  it('leaves the previous checkpoint loadable, whether the kill lands before, during or after a write', async () => {
    ensureDist();
    const file = path.join(tmp, 'checkpoint.safetensors');
    const rng = new Rng(2024);
    const rounds = 8;
    let midWrite = 0;
    for (let round = 0; round < rounds; round++) {
      // Even rounds kill the moment the temporary file appears, so a kill surely lands mid-write;
      // a kill that still came too late (the write finished first) is retried.
      const atOnce = round % 2 === 0;
      let landedMidWrite = false;
      for (let attempt = 0; attempt < (atOnce ? 5 : 1) && !landedMidWrite; attempt++) {
        const { lastSaved, killedDuring } = await killDuringWrite(tmp, file, (round * 10 + attempt + 1) * 1000, rng, atOnce);
        landedMidWrite = tempFiles(tmp).length > 0;
        if (landedMidWrite) midWrite++;
        // Whatever moment the kill hit, the file is a complete checkpoint: the last one saved, or the one being written.
        const checkpoint = await readCheckpoint(file);
        expect([lastSaved, killedDuring]).toContain(Number(checkpoint.metadata.round));
        expect(checkpoint.parameters.get('features.0.weight')!.shape).toEqual([16, 3, 11, 11]);
        await removeStaleTempFiles(tmp);
        expect(tempFiles(tmp)).toEqual([]);
      }
      if (atOnce) expect(landedMidWrite, `round ${round}: no kill landed between the temporary file's creation and its rename`).toBe(true);
    }
    console.log(`${rounds} kills or more; ${midWrite} landed mid-write (a half-written temporary file, cleaned up); none damaged the checkpoint`);
    expect(midWrite).toBeGreaterThanOrEqual(rounds / 2);
  });
});
