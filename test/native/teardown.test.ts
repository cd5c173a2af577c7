/**
 * Worker threads and environment teardown (issue 10, item 1). Before the fix, a worker thread
 * terminated (or calling process.exit) while a toArray() was pending aborted the whole process:
 * the completion callback threw into the dying environment ("terminate called after throwing an
 * instance of 'Napi::Error'"). Two workers using the CPU backend at once could also fail inside
 * oneDNN, sharing one primitive cache and stream.
 *
 * Each probe runs in a child process under a timeout, so that a crash or a hang is counted
 * instead of taking the test runner down: a crash is a signal, an unexpected exit code or an
 * abort message; a hang is the timeout. The summary line gives the counts.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { distRoot, ensureDist } from '../cli/dist';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'alexnet-teardown-'));
const timeoutMs = 60_000;
const tally = { cases: 0, crashes: 0, hangs: 0 };

beforeAll(() => ensureDist());
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  console.log(`worker teardown probes: ${tally.cases} cases, ${tally.crashes} crashes, ${tally.hangs} hangs`);
});

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  hung: boolean;
  ms: number;
}

// What every worker starts with: the library, and a read that stays pending for a while (four
// 3x3 convolutions of 64 channels at 56x56, a few hundred milliseconds on one core).
const workerPrelude = `
const { parentPort, workerData } = require('node:worker_threads');
const { Tensor, ops, getBackend } = require(${JSON.stringify(path.join(distRoot, 'index.js'))});
const backend = getBackend('cpu');
function queueConvs(n) {
  const x = Tensor.full([8, 64, 56, 56], 1, { backend });
  const w = Tensor.full([64, 64, 3, 3], 0.01, { backend });
  let y = x;
  for (let i = 0; i < n; i++) {
    const next = ops.conv2d(y, w, null, { padding: 1, relu: true });
    y.dispose();  // its memory is reused once the queued convolution has read it
    y = next;
  }
  return y;
}
// The value at an interior element after n of them: (64 * 9 * 0.01)^n.
function interior(a) { return a[28 * 56 + 28]; }
function startReads(n) {
  const y = queueConvs(4);
  const reads = [];
  for (let i = 0; i < n; i++) reads.push(y.toArray());
  reads.push(backend.synchronize());
  for (const r of reads) r.catch(() => {});
  return reads;
}
`;

/** A child process whose main thread runs `main`, with `startWorker(data)` starting a worker that runs `worker`. */
function script(main: string, worker = ''): string {
  return `
const { Worker } = require('node:worker_threads');
const WORKER = ${JSON.stringify(workerPrelude + worker)};
function startWorker(data = {}) {
  const w = new Worker(WORKER, { eval: true, workerData: data });
  w.on('error', (e) => console.log('worker error: ' + e.message));
  return w;
}
${main}
`;
}

function run(source: string, env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['-e', source], {
      cwd: tmp,
      env: { ...process.env, ALEXNET_QUIET: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let hung = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const guard = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr, hung, ms: Date.now() - started });
    });
  });
}

/** Runs one probe, counts it, and checks that it neither crashed nor hung and exited with code 0. */
async function probe(source: string, env?: NodeJS.ProcessEnv): Promise<Outcome> {
  const o = await run(source, env);
  tally.cases++;
  const crashed = !o.hung && (o.signal !== null || o.code !== 0 || /terminate called|Aborted|FATAL ERROR|Segmentation/.test(o.stderr));
  if (o.hung) tally.hangs++;
  if (crashed) tally.crashes++;
  const detail = `code ${o.code}, signal ${o.signal}, ${o.ms} ms\nstdout:\n${o.stdout}\nstderr:\n${o.stderr}`;
  expect(o.hung, `hung: ${detail}`).toBe(false);
  expect(crashed, `crashed: ${detail}`).toBe(false);
  return o;
}

describe('a worker thread with reads pending', () => {
  it.each([0, 1, 10, 50, 200])('is terminated after %i ms: the worker ends, the process lives', async (delay) => {
    const o = await probe(
      script(
        `const w = startWorker();
         w.on('message', () => setTimeout(() => { console.log('terminating'); w.terminate(); }, ${delay}));
         w.on('exit', (code) => console.log('worker exit ' + code));`,
        // Reads are always pending (a new batch starts as each one ends), so the worker never
        // ends on its own: however fast this machine is, terminate() finds reads in flight.
        `(function again() { Promise.allSettled(startReads(3)).then(again); })(); parentPort.postMessage('pending');`,
      ),
    );
    expect(o.stdout).toContain('terminating\nworker exit 1');
  });

  it.each([0, 10, 100])('calls process.exit after %i ms', async (delay) => {
    const o = await probe(
      script(
        `startWorker().on('exit', (code) => console.log('worker exit ' + code));`,
        `startReads(3); setTimeout(() => process.exit(3), ${delay});`,
      ),
    );
    expect(o.stdout).toContain('worker exit 3');
  });

  it('calls process.exit from the callback of one read while others are pending', async () => {
    const o = await probe(
      script(
        `startWorker().on('exit', (code) => console.log('worker exit ' + code));`,
        `const first = Tensor.full([4], 1, { backend }).toArray();
         startReads(3);
         first.then(() => process.exit(4));`,
      ),
    );
    expect(o.stdout).toContain('worker exit 4');
  });

  it('is terminated while blocked in Atomics.wait', async () => {
    const o = await probe(
      script(
        `const w = startWorker();
         w.on('message', () => setTimeout(() => { console.log('terminating'); w.terminate(); }, 50));
         w.on('exit', (code) => console.log('worker exit ' + code));`,
        `startReads(2);
         parentPort.postMessage('pending');
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);`,
      ),
    );
    expect(o.stdout).toContain('terminating\nworker exit 1');
  });

  it('is terminated while a read of a tensor whose op failed is pending', async () => {
    const o = await probe(
      script(
        `const w = startWorker();
         w.on('message', () => setTimeout(() => { console.log('terminating'); w.terminate(); }, 20));
         w.on('exit', (code) => console.log('worker exit ' + code));`,
        `const y = queueConvs(2);
         backend.native.testFailNextOp('reluForward', 'backend');
         ops.relu(y).toArray().catch(() => {});
         parentPort.postMessage('pending');`,
      ),
    );
    expect(o.stdout).toContain('terminating\nworker exit 1');
  });

  it('exits normally once its reads resolve, with the right values', async () => {
    const o = await probe(
      script(
        `startWorker().on('message', (m) => console.log(m));`,
        `(async () => {
           const values = await Promise.all(startReads(2).slice(0, 2));
           const expected = Math.pow(64 * 9 * 0.01, 4);
           const ok = values.every((a) => Math.abs(interior(a) - expected) <= 1e-4 * expected);
           parentPort.postMessage(ok ? 'values ok' : 'wrong values ' + interior(values[0]) + ' vs ' + expected);
         })();`,
      ),
    );
    expect(o.stdout).toContain('values ok');
  });

  it('exits normally with work queued that nothing reads, without running it', async () => {
    const o = await probe(
      script(
        `const started = Date.now();
         startWorker().on('exit', (code) => console.log('worker exit ' + code + ' after ' + (Date.now() - started) + ' ms'));`,
        // About a minute of convolutions on one core, if they ran.
        `queueConvs(200);`,
      ),
    );
    expect(o.stdout).toMatch(/worker exit 0 after \d+ ms/);
    expect(o.ms).toBeLessThan(20_000);
  });
});

describe('process.exit on the main thread', () => {
  it.each([0, 50])("while workers' reads are pending (after %i ms)", async (delay) => {
    await probe(
      script(
        `let pending = 0;
         for (let i = 0; i < 2; i++) startWorker().on('message', () => { if (++pending === 2) setTimeout(() => process.exit(0), ${delay}); });`,
        `startReads(2); parentPort.postMessage('pending');`,
      ),
    );
  });

  it('while its own reads are pending', async () => {
    await probe(
      script(`
        const { Tensor, ops, getBackend } = require(${JSON.stringify(path.join(distRoot, 'index.js'))});
        const backend = getBackend('cpu');
        const x = Tensor.full([8, 64, 56, 56], 1, { backend });
        const w = Tensor.full([64, 64, 3, 3], 0.01, { backend });
        let y = x;
        for (let i = 0; i < 20; i++) y = ops.conv2d(y, w, null, { padding: 1 });
        y.toArray().catch(() => {});
        setTimeout(() => process.exit(0), 100);`),
    );
  });
});

describe('worker threads using the CPU backend at once', () => {
  it('four workers, two of them terminated: the other two get the right values', async () => {
    const o = await probe(
      script(
        `for (let i = 0; i < 4; i++) {
           const w = startWorker({ i });
           w.on('message', (m) => { if (m === 'pending') { if (i % 2 === 0) setTimeout(() => w.terminate(), 30); } else console.log(m); });
         }`,
        `(async () => {
           const reads = startReads(1);
           parentPort.postMessage('pending');
           const a = await reads[0];
           const expected = Math.pow(64 * 9 * 0.01, 4);
           parentPort.postMessage(Math.abs(interior(a) - expected) <= 1e-4 * expected ? 'worker ' + workerData.i + ' ok' : 'worker ' + workerData.i + ' wrong ' + interior(a));
         })();`,
      ),
    );
    expect(o.stdout).toContain('worker 1 ok');
    expect(o.stdout).toContain('worker 3 ok');
    expect(o.stdout).not.toContain('wrong');
  });

  it('convolutions of many shapes in eight workers give the right values (one primitive cache and stream per queue)', async () => {
    const o = await probe(
      script(
        `let done = 0;
         for (let i = 0; i < 8; i++) startWorker({ i }).on('message', (m) => { console.log(m); if (++done === 8) console.log('all done'); });`,
        `(async () => {
           const checks = [];
           for (let r = 0; r < 150; r++) {
             const c = 1 + (r % 17), h = 3 + ((r * 5 + workerData.i * 13) % 23);
             const x = Tensor.full([1, c, h, h], 1, { backend });
             const w = Tensor.full([2, c, 3, 3], 1, { backend });
             const y = ops.conv2d(x, w, null, { padding: 1 });
             checks.push(y.toArray().then((a) => {
               const v = a[Math.floor(h / 2) * h + Math.floor(h / 2)];
               if (v !== 9 * c) throw new Error('got ' + v + ', expected ' + 9 * c);
             }));
           }
           await Promise.all(checks);
           parentPort.postMessage('worker ok');
         })().catch((e) => parentPort.postMessage('worker failed: ' + e.message));`,
      ),
    );
    expect(o.stdout).toContain('all done');
    expect(o.stdout).not.toContain('failed');
  });
});

describe("reads do not wait on libuv's thread pool", () => {
  it('toArray resolves while every thread of the pool is blocked (reads of FIFOs no one writes)', async () => {
    const fifos = [0, 1, 2, 3].map((i) => path.join(tmp, `fifo${i}`));
    const o = await probe(
      `
      const { execFileSync } = require('node:child_process');
      const fs = require('node:fs');
      const { Tensor, getBackend } = require(${JSON.stringify(path.join(distRoot, 'index.js'))});
      const fifos = ${JSON.stringify(fifos)};
      execFileSync('mkfifo', fifos);
      for (const f of fifos) fs.readFile(f, () => {});  // each holds a pool thread until written
      const t = Tensor.full([1000], 2, { backend: getBackend('cpu') });
      const guard = setTimeout(() => { console.log('toArray waited'); release(); }, 10000);
      t.toArray().then((a) => { console.log('resolved ' + a[999]); clearTimeout(guard); release(); });
      function release() { for (const f of fifos) fs.writeFileSync(f, 'x'); }`,
      { UV_THREADPOOL_SIZE: '4' },
    );
    expect(o.stdout).toContain('resolved 2');
    expect(o.stdout).not.toContain('toArray waited');
  });
});
