import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { readCheckpoint } from '../../lib/checkpoint';
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
const { encodeCheckpoint } = require(${JSON.stringify(path.join(distRoot, 'checkpoint.js'))});
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

describe('killing the process while it saves', () => {
  it('leaves the previous checkpoint loadable (SIGKILL at random moments of the write)', async () => {
    ensureDist();
    const file = path.join(tmp, 'checkpoint.safetensors');
    const rng = new Rng(2024);
    let lastSaved = -1;
    let leftovers = 0;
    const rounds = 8;
    for (let round = 0; round < rounds; round++) {
      const child = spawn(process.execPath, ['-e', saver(file, (round + 1) * 1000)], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.add(child);
      const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('exit', () => clearTimeout(guard));
      let killedDuring = -1;
      await new Promise<void>((resolve, reject) => {
        let buffered = '';
        let writes = 0;
        // Kill during the second or a later write, a random 0-30 ms after it starts (a write of
        // these 15 MB with fsync takes about that long), so some kills land mid-write.
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
              setTimeout(() => child.kill('SIGKILL'), rng.int(31));
            }
          }
        });
        child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`saver exited with ${code ?? signal}`))));
      });
      // Whatever moment the kill hit, the file is a complete checkpoint: the last one saved, or the one being written.
      const checkpoint = await readCheckpoint(file);
      const round_ = Number(checkpoint.metadata.round);
      expect([lastSaved, killedDuring]).toContain(round_);
      expect(checkpoint.parameters.get('features.0.weight')!.shape).toEqual([16, 3, 11, 11]);
      leftovers += readdirSync(tmp).filter((n) => n.endsWith('.tmp')).length;
      await removeStaleTempFiles(tmp);
      expect(readdirSync(tmp).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    }
    console.log(`${rounds} kills; ${leftovers} of them left a half-written temporary file behind (cleaned up), none damaged the checkpoint`);
  });
});
