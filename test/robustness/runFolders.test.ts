/**
 * Runs own their folders (issue 10, item 4): a second `alexnet train` used to reuse checkpoints/
 * silently, delete the first run's checkpoints (its resume point included) and append to its
 * metrics. Now a new run refuses a folder holding another run unless --resume or --overwrite, and
 * nothing is ever deleted that the current run did not write.
 */
import * as path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { explain, prepareProbes, probeData, probeDist, runProbe, tinyTrain, type ProbeCase, type ProbeData } from './support/probes';

let data: ProbeData;
beforeAll(async () => {
  prepareProbes();
  data = await probeData();
}, 120_000);

async function probe(make: () => ProbeCase): Promise<void> {
  const result = await runProbe({ timeoutMs: 120_000, ...make() });
  expect(result.outcome, explain(result)).toBe('ok');
}

/** The argument list that runs `alexnet ARGS` with the probed build, as script text. */
const cli = (args: string[]) => JSON.stringify([path.join(probeDist, 'cli', 'main.js'), ...args]);

describe.concurrent('a run owns its checkpoint folder', () => {
  it("a second alexnet train refuses the first run's folder (one line, exit 2) and touches none of its files", () =>
    probe(() => ({
      name: 'second alexnet train into a used folder',
      concern: 'folder',
      // Run 1 stops mid-way (its resume point is the newest checkpoint); run 2 starts over in the same folder.
      script: `
        const { spawnSync } = require('child_process');
        const run = (args) => spawnSync(process.execPath, args, { cwd: tmp, encoding: 'utf8', env: { ...process.env, ALEXNET_QUIET: '1' } });
        const first = run(${cli(['train', ...tinyTrain(data), '--epochs', '3', '--stop-after-steps', '3', '--checkpoint-dir', 'run'])});
        if (first.status !== 0) throw new Error('run 1 failed: ' + first.stderr);
        const before = fs.readdirSync(path.join(tmp, 'run')).sort().map((n) => n + ':' + fs.statSync(path.join(tmp, 'run', n)).mtimeMs + ':' + fs.statSync(path.join(tmp, 'run', n)).size);
        const second = run(${cli(['train', '--dataset', 'mnist', '--data', data.mnist, '--width', '0.0625', '--input-size', '68', '--epochs', '1', '--backend', 'cpu', '--checkpoint-dir', 'run'])});
        const after = fs.readdirSync(path.join(tmp, 'run')).sort().map((n) => n + ':' + fs.statSync(path.join(tmp, 'run', n)).mtimeMs + ':' + fs.statSync(path.join(tmp, 'run', n)).size);
        if (JSON.stringify(before) !== JSON.stringify(after)) throw new Error('the first run\\'s files changed: ' + JSON.stringify({ before, after }));
        console.log('exit ' + second.status);
        throw new Error(second.stderr.trim());`,
      error:
        /^Error: alexnet train: .*\/run holds another training run \(1 checkpoint up to checkpoint-e0000-s000000003\.safetensors, metrics\.jsonl\): continue it with --resume run, start a new run there with --overwrite \(its files move to a replaced-<time> subfolder; nothing is deleted\), or choose another --checkpoint-dir$/,
      stdout: /^exit 2$/m,
    })));

  it('--overwrite moves the other run aside intact; --resume then continues the new run, not the old one', () =>
    probe(() => ({
      name: 'alexnet train --overwrite, then --resume',
      concern: 'folder',
      script: `
        const { spawnSync } = require('child_process');
        const run = (args) => {
          const r = spawnSync(process.execPath, args, { cwd: tmp, encoding: 'utf8', env: { ...process.env, ALEXNET_QUIET: '1' } });
          if (r.status !== 0) throw new Error(args.join(' ') + ' failed: ' + r.stderr);
          return r.stdout;
        };
        run(${cli(['train', ...tinyTrain(data), '--epochs', '3', '--stop-after-steps', '3', '--checkpoint-dir', 'run'])});
        const old = fs.readdirSync(path.join(tmp, 'run')).sort();
        const oldBytes = old.map((n) => fs.readFileSync(path.join(tmp, 'run', n)).toString('base64'));
        run(${cli(['train', ...tinyTrain(data), '--seed', '5', '--epochs', '3', '--stop-after-steps', '2', '--checkpoint-dir', 'run', '--overwrite'])});
        const moved = fs.readdirSync(path.join(tmp, 'run')).filter((n) => n.startsWith('replaced-'));
        if (moved.length !== 1) throw new Error('expected one replaced-* folder, got ' + moved);
        const kept = fs.readdirSync(path.join(tmp, 'run', moved[0])).sort();
        if (JSON.stringify(kept) !== JSON.stringify(old)) throw new Error('moved ' + kept + ', the old run had ' + old);
        kept.forEach((n, i) => { if (fs.readFileSync(path.join(tmp, 'run', moved[0], n)).toString('base64') !== oldBytes[i]) throw new Error(n + ' changed'); });
        const resumed = run(${cli(['train', '--resume', 'run', '--backend', 'cpu', '--progress', 'epochs', '--stop-after-steps', '3'])});
        const from = /resuming from (\\S+): epoch (\\d+), batch (\\d+), step (\\d+)/.exec(resumed);
        console.log('resumed from ' + path.basename(from[1]) + ' at step ' + from[4]);`,
      stdout: /^resumed from checkpoint-e0000-s000000002\.safetensors at step 2$/m,
    })));

  it("pruning deletes only the current run's checkpoints; a resumed run prunes its own earlier ones", () =>
    probe(() => ({
      name: 'pruning spares other runs (library)',
      concern: 'folder',
      script: `
        const images = new Uint8Array(40 * 784); for (let i = 0; i < images.length; i++) images[i] = (i * 7) % 251;
        const ds = new lib.ArrayDataset({ images, labels: Array.from({ length: 40 }, (_, i) => i % 4), shape: [1, 28, 28], classes: ['a', 'b', 'c', 'd'] });
        const make = () => lib.createAlexNet({ preset: 'd2l', width: 0.0625, inputSize: 68, numClasses: 4, seed: 1, backend: 'cpu' });
        const base = { epochs: 4, batchSize: 8, progress: 'none', trainTransform: [{ kind: 'resize', size: 68 }], handleSignals: false };
        const dir = path.join(tmp, 'run');
        // Another run's checkpoint sits in the folder (copied in by hand, say): it must survive everything.
        const foreign = lib.createAlexNet({ preset: 'd2l', width: 0.0625, inputSize: 68, numClasses: 4, seed: 2, backend: 'cpu' });
        fs.mkdirSync(dir);
        await lib.saveCheckpoint(path.join(dir, 'checkpoint-e0000-s000000001.safetensors'), foreign, { metadata: { 'alexnet-cuda.run': 'someone-else' } });
        const refused = await new lib.Trainer(make()).fit(ds, null, { ...base, checkpointDir: dir }).then(() => null, (e) => e);
        if (!refused || refused.name !== 'RunFolderError') throw new Error('a new run took a folder holding another run: ' + refused);
        // Told to overwrite: the other run's file moves aside; then a run stopped at step 7 and resumed to the end.
        const first = await new lib.Trainer(make()).fit(ds, null, { ...base, checkpointDir: dir, overwrite: true, stopAfterSteps: 7, keepLast: 2 });
        const second = await new lib.Trainer(make()).fit(ds, null, { ...base, checkpointDir: dir, resume: dir, keepLast: 2 });
        if (second.run !== first.run) throw new Error('the resumed run has a new id');
        const names = fs.readdirSync(dir).sort();
        const aside = names.filter((n) => n.startsWith('replaced-'));
        const movedForeign = fs.readdirSync(path.join(dir, aside[0]));
        console.log(JSON.stringify({ checkpoints: names.filter((n) => n.startsWith('checkpoint-')), movedForeign }));`,
      stdout:
        /^\{"checkpoints":\["checkpoint-e0003-s000000015\.safetensors","checkpoint-e0004-s000000020\.safetensors"\],"movedForeign":\["checkpoint-e0000-s000000001\.safetensors"\]\}$/m,
    })));
});
