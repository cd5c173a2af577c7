/**
 * kill -9 during saves: whatever moment the kill lands (before, during or after a write), the
 * previous checkpoint stays loadable, and temporary files of killed saves stay bounded: the next
 * write of the same target removes them (they used to pile up: 352 MB over 22 kills). Two kinds:
 * a process saving one checkpoint file over and over (saveCheckpoint), and `alexnet train` saving
 * every step into its folder, killed and resumed again and again.
 */
import { existsSync, readdirSync, watch } from 'node:fs';
import * as path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { readCheckpoint } from '../../lib/checkpoint/format';
import { Rng } from '../../lib/data/rng';
import { caseFolder, explain, prepareProbes, probeData, runProbe, tinyTrain, type ProbeData } from './support/probes';

let data: ProbeData;
beforeAll(async () => {
  prepareProbes();
  data = await probeData();
}, 120_000);

/** The temporary files writeFileAtomic has open in `dir` (named .<file>.<pid>.<hex>.tmp). */
const tempFiles = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.tmp'));

/** A script saving the same checkpoint over and over (saveCheckpoint), saying when each save starts and ends. */
const saver = (start: number) => `
  const model = lib.createAlexNet({ preset: 'torchvision', width: 0.25, numClasses: 10, seed: 1, backend: 'cpu' });
  for (let i = ${start}; ; i++) {
    process.stdout.write('writing ' + i + '\\n');
    await lib.saveCheckpoint(path.join(tmp, 'checkpoint.safetensors'), model, { metadata: { round: String(i) } });
    process.stdout.write('saved ' + i + '\\n');
  }`;

describe('kill -9 while saving', () => {
  it('leaves the previous checkpoint loadable and at most one temporary file, whether the kill lands before, during or after a write', async () => {
    const folder = caseFolder('kill-saver');
    const file = path.join(folder, 'checkpoint.safetensors');
    const rng = new Rng(2024);
    const rounds = 8;
    let midWrite = 0;
    for (let round = 0; round < rounds; round++) {
      // Even rounds kill the moment the temporary file appears (surely mid-write); odd ones a random 0-30 ms after the save starts.
      const atOnce = round % 2 === 0;
      let lastSaved = -1;
      let killedDuring = -1;
      const target = 2 + rng.int(2);
      const delay = rng.int(31);
      const result = await runProbe({
        name: `kill -9 during saveCheckpoint, round ${round}`,
        concern: 'kill',
        folder,
        script: saver((round + 1) * 1000),
        signal: 'SIGKILL',
        timeoutMs: 60_000,
        drive: (child, output) => {
          let writes = 0;
          let seen = 0;
          const watcher = atOnce
            ? watch(folder, (_e, name) => {
                if (killedDuring >= 0 && typeof name === 'string' && name.endsWith('.tmp')) child.kill('SIGKILL');
              })
            : null;
          child.on('exit', () => watcher?.close());
          child.stdout!.on('data', () => {
            const lines = output().split('\n').slice(0, -1);
            for (; seen < lines.length; seen++) {
              const [what, n] = lines[seen].split(' ');
              if (what === 'saved') lastSaved = Number(n);
              if (what === 'writing' && ++writes === target) {
                killedDuring = Number(n);
                if (!atOnce) setTimeout(() => child.kill('SIGKILL'), delay);
              }
            }
          });
        },
        check: async () => {
          const temps = tempFiles(folder);
          if (temps.length > 0) midWrite++;
          if (temps.length > 1) return `${temps.length} temporary files after the kill: ${temps.join(', ')}`;
          const round = Number((await readCheckpoint(file)).metadata.round);
          return [lastSaved, killedDuring].includes(round)
            ? null
            : `the file holds round ${round}, expected ${lastSaved} or ${killedDuring}`;
        },
      });
      expect(result.outcome, explain(result)).toBe('ok');
    }
    // A write that completes removes what the last kill left.
    const last = await runProbe({
      name: 'write after the kills',
      concern: 'kill',
      folder,
      script: saver(99_000).replace('; ; i++', '; i < 99_001; i++'),
    });
    expect(last.outcome, explain(last)).toBe('ok');
    expect(tempFiles(folder)).toEqual([]);
    expect(midWrite, 'no kill landed mid-write').toBeGreaterThanOrEqual(rounds / 4);
  });

  it('alexnet train saving every step, killed and resumed again and again: always a loadable latest checkpoint, bounded files', async () => {
    const folder = caseFolder('kill-train');
    const dir = path.join(folder, 'run');
    const rng = new Rng(7);
    let lastStep = 0;
    for (let kill = 0; kill < 4; kill++) {
      const args =
        kill === 0
          ? ['train', ...tinyTrain(data), '--epochs', '200', '--checkpoint-dir', 'run', '--checkpoint-every', '1']
          : ['train', '--resume', 'run', '--backend', 'cpu', '--progress', 'epochs'];
      const afterMs = 300 + rng.int(700);
      const result = await runProbe({
        name: `kill -9 during alexnet train --checkpoint-every 1, kill ${kill}`,
        concern: 'kill',
        folder,
        cli: args,
        signal: 'SIGKILL',
        timeoutMs: 90_000,
        drive: (child) => {
          // Kill at a random moment once this process writes checkpoints (one every step).
          const before = new Set(existsSync(dir) ? readdirSync(dir) : []);
          const timer = setInterval(() => {
            const names = existsSync(dir) ? readdirSync(dir) : [];
            if (!names.some((n) => n.startsWith('checkpoint-') && !before.has(n))) return;
            clearInterval(timer);
            setTimeout(() => child.kill('SIGKILL'), afterMs);
          }, 20);
          child.on('exit', () => clearInterval(timer));
        },
        check: async () => {
          const names = readdirSync(dir);
          const temps = names.filter((n) => n.endsWith('.tmp'));
          const checkpoints = names.filter((n) => n.startsWith('checkpoint-')).sort();
          if (temps.length > 1) return `${temps.length} temporary files: ${temps.join(', ')}`;
          // keepLast 3, the best, and one written but not yet pruned when the kill came.
          if (checkpoints.length > 5) return `${checkpoints.length} checkpoints kept: ${checkpoints.join(', ')}`;
          const latest = await readCheckpoint(path.join(dir, checkpoints.at(-1)!));
          const step = latest.optimizer?.state.steps ?? 0;
          if (step <= lastStep) return `the latest checkpoint is at step ${step}, not past the previous kill's ${lastStep}`;
          lastStep = step;
          return null;
        },
      });
      expect(result.outcome, explain(result)).toBe('ok');
    }
    expect(lastStep).toBeGreaterThan(4);
  });
});
