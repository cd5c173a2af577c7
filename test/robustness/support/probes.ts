/**
 * The robustness probe harness: each case runs in its own child process, as a hostile or careless
 * user would run the library or the CLI, under a timeout, and is judged from the outside:
 *
 * - crash: killed by a signal (SIGABRT, SIGSEGV), an uncaught exception, or an exit code other than
 *   the one expected;
 * - hang: still running at its timeout (then killed);
 * - unhandled: a promise rejected with nobody listening (the guard preloaded into every child
 *   reports it and exits 70 before any handler of the program under test can hide it);
 * - unclear: the error message does not match what the case expects (the parameter or file named),
 *   or a CLI failure takes more than one line;
 * - ceiling: the child's peak resident memory (getrusage's maxRSS) exceeds the case's ceiling.
 *
 * Every result is appended to a folder the default export (vitest's globalSetup) empties before the
 * run and summarizes after it, in one line the lead can quote:
 * `robustness probes: N cases, 0 crashes, 0 hangs, 0 unhandled rejections, 0 unclear messages, ...`.
 *
 * ALEXNET_PROBE_DIST=DIR runs the cases against another build of the library (DIR holds its
 * compiled index.js and cli/main.js), which is how each case was checked to fail without its fix.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { finished } from 'node:stream/promises';
import { createDeflate, createGzip, crc32 } from 'node:zlib';

import { distRoot, ensureDist, repoRoot } from '../../cli/dist';
import { writeSyntheticMnist } from '../../train/synthetic';

/** The compiled library the cases run against. */
export const probeDist = process.env.ALEXNET_PROBE_DIST ? path.resolve(process.env.ALEXNET_PROBE_DIST) : distRoot;

/** Builds dist/ when needed (not for ALEXNET_PROBE_DIST). */
export function prepareProbes(): void {
  if (!process.env.ALEXNET_PROBE_DIST) ensureDist();
}

/** Where results go: one folder per checkout, emptied by the global setup. */
const resultsDir = path.join(os.tmpdir(), `alexnet-probes-${createHash('sha256').update(repoRoot).digest('hex').slice(0, 12)}`);

/** What kind of failure a case probes for (for the summary). */
export type Concern = 'crash' | 'hang' | 'rejection' | 'bomb' | 'kill' | 'message' | 'folder' | 'concurrency' | 'first-run';

/** One probe. Exactly one of `script` and `cli` is given. */
export interface ProbeCase {
  /** A unique name, shown in failures. */
  name: string;
  concern: Concern;
  /**
   * The body of an async function run in the child, with `lib` (the package's index), `dist(p)`
   * (require a compiled module by path under dist/), `fs`, `path` and `tmp` (the case's own empty
   * folder) in scope. A value it throws is reported as the case's error message; returning ends it.
   */
  script?: string;
  /** Arguments of the `alexnet` CLI. */
  cli?: string[];
  /** Working folder (default: the case's own folder). */
  cwd?: string;
  /** The case's own folder (`tmp` in a script), to share one between cases (default: a new empty one, removed after the case). */
  folder?: string;
  /** Extra environment. */
  env?: Record<string, string>;
  /** Milliseconds before the case counts as hung (default 30 s). */
  timeoutMs?: number;
  /** The expected exit code (default: 0 when nothing is thrown and no CLI error is expected, else 1). */
  exit?: number;
  /** The error message (thrown by the script, or the CLI's stderr) must match. */
  error?: RegExp;
  /** ... and contain each of these (the parameter or file it must name). */
  names?: string[];
  /** stdout must match (for cases that succeed). */
  stdout?: RegExp;
  /** Peak resident memory allowed, in MiB. */
  maxRssMb?: number;
  /** Any further check on the result (its folder still exists then); returns a problem, or null. */
  check?: (result: ProbeResult) => string | null | Promise<string | null>;
  /** The signal `drive` ends the child with (then that ending is expected, not a crash). */
  signal?: NodeJS.Signals;
  /** Drives the running child (sends signals, closes its stdout); `output` gives its stdout so far. */
  drive?: (child: ChildProcess, output: () => string) => void;
}

/** What happened. */
export interface ProbeResult {
  name: string;
  concern: Concern;
  outcome: 'ok' | 'crash' | 'hang' | 'unhandled' | 'unclear' | 'ceiling';
  /** What went wrong, in a line (empty when ok). */
  detail: string;
  exit: number | null;
  signal: string | null;
  ms: number;
  /** Peak resident memory in MiB (null when the child could not report it). */
  rssMb: number | null;
  maxRssMb: number | null;
  stdout: string;
  /** stderr without the guard's own lines. */
  stderr: string;
  /** The error the script threw (name: message), or the CLI's stderr. */
  error: string | null;
  /** The case's own folder (it exists only during `check`). */
  folder: string;
}

const GUARD = `
const fs = require('fs');
const say = (text) => { try { fs.writeSync(2, '@@PROBE ' + text.split('\\n')[0] + '\\n'); } catch {} };
process.on('unhandledRejection', (reason) => { say('unhandled ' + String((reason && reason.message) || reason)); process.exit(70); });
process.on('uncaughtExceptionMonitor', (error) => say('uncaught ' + String((error && error.message) || error)));
process.on('exit', () => say('rss ' + process.resourceUsage().maxRSS));
`;

let guardFile: string | undefined;
function guard(): string {
  if (!guardFile) {
    mkdirSync(resultsDir, { recursive: true });
    guardFile = path.join(resultsDir, `guard-${process.pid}.cjs`);
    writeFileSync(guardFile, GUARD);
  }
  return guardFile;
}

function wrapScript(body: string, tmp: string): string {
  return `
const lib = require(${JSON.stringify(path.join(probeDist, 'index.js'))});
const dist = (p) => require(require('path').join(${JSON.stringify(probeDist)}, p));
const fs = require('fs');
const path = require('path');
const tmp = ${JSON.stringify(tmp)};
(async () => {
${body}
})().then(
  () => process.stdout.write('@@DONE\\n'),
  (e) => {
    process.stdout.write('@@ERROR ' + JSON.stringify(String((e && e.name) || 'Error') + ': ' + String(e && e.message !== undefined ? e.message : e)) + '\\n');
    process.exitCode = 1;
  },
);
`;
}

let caseCounter = 0;

/** A fresh folder for a case. */
export function caseFolder(name: string): string {
  const dir = path.join(os.tmpdir(), `alexnet-probe-${process.pid}-${caseCounter++}-${name.replace(/[^\w-]+/g, '_').slice(0, 40)}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Runs one case in a child process and judges it (see the module notes). */
export async function runProbe(c: ProbeCase): Promise<ProbeResult> {
  const tmp = c.folder ?? caseFolder(c.name);
  const timeoutMs = c.timeoutMs ?? 30_000;
  const args =
    c.script !== undefined
      ? ['-r', guard(), '-e', wrapScript(c.script, tmp)]
      : ['-r', guard(), path.join(probeDist, 'cli', 'main.js'), ...c.cli!];
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: c.cwd ?? tmp,
    env: { ...process.env, ALEXNET_QUIET: '1', ALEXNET_DEBUG: '', ...c.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderrRaw = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderrRaw += chunk.toString()));
  c.drive?.(child, () => stdout);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const [exit, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('close', (code, sig) => resolve([code, sig])),
  );
  clearTimeout(timer);
  const ms = performance.now() - started;

  const guardLines = stderrRaw.split('\n').filter((l) => l.startsWith('@@PROBE '));
  const stderr = stderrRaw
    .split('\n')
    .filter((l) => !l.startsWith('@@PROBE '))
    .join('\n');
  const rssLine = guardLines.find((l) => l.startsWith('@@PROBE rss '));
  const rssMb = rssLine ? Number(rssLine.slice('@@PROBE rss '.length)) / 1024 : null;
  const thrown = /^@@ERROR (.*)$/m.exec(stdout)?.[1];
  const error = thrown !== undefined ? (JSON.parse(thrown) as string) : c.cli && stderr.trim() ? stderr.trim() : null;
  const result: ProbeResult = {
    name: c.name,
    concern: c.concern,
    outcome: 'ok',
    detail: '',
    exit,
    signal,
    ms,
    rssMb,
    maxRssMb: c.maxRssMb ?? null,
    stdout: stdout.replace(/^@@(DONE|ERROR).*\n?/gm, ''),
    stderr,
    error,
    folder: tmp,
  };
  const fail = (outcome: ProbeResult['outcome'], detail: string) => {
    if (result.outcome === 'ok') Object.assign(result, { outcome, detail });
  };
  const expectedExit = c.exit ?? (c.error ? 1 : 0);
  const unhandled = guardLines.find((l) => l.startsWith('@@PROBE unhandled '));
  const uncaught = guardLines.find((l) => l.startsWith('@@PROBE uncaught '));
  if (timedOut) fail('hang', `still running after ${timeoutMs} ms`);
  else if (unhandled) fail('unhandled', unhandled.slice('@@PROBE '.length));
  else if (signal && signal !== c.signal) fail('crash', `killed by ${signal}: ${stderr.trim().split('\n').slice(0, 3).join(' | ')}`);
  else if (uncaught && !c.cli) fail('crash', uncaught.slice('@@PROBE '.length));
  else if (/internal error/.test(stderr)) fail('crash', stderr.trim().split('\n')[0]);
  else if (c.signal && signal !== c.signal) fail('crash', `ended with ${exit ?? signal}, expected ${c.signal} from the driver`);
  else if (!c.signal && exit !== expectedExit)
    fail('crash', `exit code ${exit}, expected ${expectedExit}: ${(error ?? stderr).trim().split('\n').slice(0, 3).join(' | ')}`);
  if (c.error) {
    if (error === null) fail('unclear', `no error reported, expected ${c.error}`);
    else if (!c.error.test(error)) fail('unclear', `message ${JSON.stringify(error)} does not match ${c.error}`);
    else if (error.includes('\n')) fail('unclear', `the message takes ${error.split('\n').length} lines: ${JSON.stringify(error)}`);
    for (const name of c.names ?? [])
      if (error !== null && !error.includes(name)) fail('unclear', `message ${JSON.stringify(error)} does not name ${name}`);
  } else if (thrown !== undefined) {
    fail('crash', `threw ${thrown}`);
  }
  if (c.stdout && !c.stdout.test(result.stdout))
    fail('unclear', `stdout ${JSON.stringify(result.stdout.slice(-300))} does not match ${c.stdout}`);
  if (c.maxRssMb !== undefined && (rssMb === null || rssMb > c.maxRssMb)) {
    fail('ceiling', rssMb === null ? 'peak memory not reported' : `peak RSS ${rssMb.toFixed(0)} MiB > ceiling ${c.maxRssMb} MiB`);
  }
  if (result.outcome === 'ok' && c.check) {
    const problem = await c.check(result);
    if (problem) fail('unclear', problem);
  }
  if (!c.folder) rmSync(tmp, { recursive: true, force: true });
  mkdirSync(resultsDir, { recursive: true });
  appendFileSync(
    path.join(resultsDir, `results-${process.pid}.jsonl`),
    `${JSON.stringify({ ...result, stdout: undefined, stderr: undefined })}\n`,
  );
  return result;
}

/** Files every probe file may use, made once per test process (see {@link probeData}). */
export interface ProbeData {
  /** Synthetic MNIST-style IDX files (200 training, 64 test images of 4 classes). */
  mnist: string;
  /** An image folder (train/ and val/, classes a and b, 40x40 PNGs). */
  folder: string;
  /** The same with a 0-byte train/b/zz.jpg. */
  folderWithEmptyJpg: string;
  /** A small 40x40 PNG. */
  smallPng: string;
  /** A FIFO (named pipe) nobody writes to. */
  fifo: string;
  /** A trained-for-nothing model file (d2l, width 0.0625, input 68, 4 classes) with preprocessing. */
  model: string;
}

/** Flags of a tiny, quick `alexnet train` run on {@link ProbeData.mnist}. */
export function tinyTrain(data: ProbeData): string[] {
  return [
    '--dataset',
    'mnist',
    '--data',
    data.mnist,
    '--width',
    '0.0625',
    '--input-size',
    '68',
    '--batch-size',
    '16',
    '--backend',
    'cpu',
    '--progress',
    'epochs',
    '--seed',
    '3',
  ];
}

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'latin1'), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** A valid grey PNG of zeros (streamed through deflate: a 16000x16000 one takes ~250 KB and no 256 MB buffer). */
async function writeGreyPng(file: string, width: number, height: number): Promise<void> {
  const deflate = createDeflate({ level: 9 });
  const parts: Buffer[] = [];
  deflate.on('data', (c: Buffer) => parts.push(c));
  const row = Buffer.alloc(width + 1); // filter byte 0, then zeros
  for (let y = 0; y < height; y++) if (!deflate.write(row)) await new Promise((r) => deflate.once('drain', r));
  deflate.end();
  await finished(deflate);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grey
  writeFileSync(
    file,
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      pngChunk('IHDR', ihdr),
      pngChunk('IDAT', Buffer.concat(parts)),
      pngChunk('IEND', Buffer.alloc(0)),
    ]),
  );
}

/** An IDX .gz whose header declares `dims` and whose data is `zeros` zero bytes (streamed). */
export async function writeIdxGz(file: string, dims: number[], zeros: number): Promise<void> {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  const gzip = createGzip({ level: 1 });
  const out = createWriteStream(file);
  gzip.pipe(out);
  gzip.write(header);
  const block = Buffer.alloc(1 << 20);
  for (let left = zeros; left > 0; left -= block.length) {
    if (!gzip.write(left >= block.length ? block : block.subarray(0, left))) await new Promise((r) => gzip.once('drain', r));
  }
  gzip.end();
  await finished(out);
}

let data: Promise<ProbeData> | undefined;

/** The shared files, made on first use in this test process. */
export function probeData(): Promise<ProbeData> {
  data ??= (async () => {
    const root = path.join(os.tmpdir(), `alexnet-probe-data-${process.pid}`);
    rmSync(root, { recursive: true, force: true });
    mkdirSync(root, { recursive: true });
    const mnist = path.join(root, 'mnist');
    writeSyntheticMnist(mnist, 200, 64);
    const smallPng = path.join(root, 'small.png');
    await writeGreyPng(smallPng, 40, 40);
    const folder = path.join(root, 'folder');
    const folderWithEmptyJpg = path.join(root, 'folder-empty-jpg');
    for (const base of [folder, folderWithEmptyJpg]) {
      for (const split of ['train', 'val']) {
        for (const c of ['a', 'b']) {
          mkdirSync(path.join(base, split, c), { recursive: true });
          for (let i = 0; i < 6; i++) writeFileSync(path.join(base, split, c, `${i}.png`), readFileSync(smallPng));
        }
      }
    }
    writeFileSync(path.join(folderWithEmptyJpg, 'train', 'b', 'zz.jpg'), Buffer.alloc(0));
    const fifo = path.join(root, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const model = path.join(root, 'model.safetensors');
    execFileSync(process.execPath, [
      '-e',
      `
      const lib = require(${JSON.stringify(path.join(probeDist, 'index.js'))});
      const m = lib.createAlexNet({ preset: 'd2l', width: 0.0625, inputSize: 68, numClasses: 4, seed: 1, backend: 'cpu' });
      m.preprocessing = [{ kind: 'resize', size: [68, 68] }];
      m.classes = ['a', 'b', 'c', 'd'];
      lib.saveCheckpoint(${JSON.stringify(model)}, m).catch((e) => { console.error(e); process.exit(1); });
    `,
    ]);
    if (!existsSync(model)) throw new Error('could not write the probe model');
    return { mnist, folder, folderWithEmptyJpg, smallPng, fifo, model };
  })();
  return data;
}

/** A valid 16000x16000 grey PNG of about 250 KB (256 megapixels), written beside `data`'s files. */
export async function hugePng(shared: ProbeData): Promise<string> {
  const file = path.join(path.dirname(shared.model), 'huge.png');
  if (!existsSync(file)) await writeGreyPng(file, 16000, 16000);
  return file;
}

/** A one-line description of a result for assertion messages. */
export function explain(r: ProbeResult): string {
  return (
    `${r.name}: ${r.outcome}${r.detail ? ` (${r.detail})` : ''}; exit ${r.exit ?? r.signal}, ${r.ms.toFixed(0)} ms` +
    `${r.rssMb !== null ? `, peak ${r.rssMb.toFixed(0)} MiB` : ''}\nstdout: ${r.stdout.slice(-600)}\nstderr: ${r.stderr.slice(-600)}`
  );
}

/** The summary line over every result recorded in this run. */
export function summaryLine(results: ProbeResult[]): string {
  const count = (o: ProbeResult['outcome']) => results.filter((r) => r.outcome === o).length;
  const bombs = results
    .filter((r) => r.maxRssMb !== null)
    .map((r) => `${r.name} ${r.rssMb === null ? '?' : r.rssMb.toFixed(0)}/${r.maxRssMb} MiB`);
  return (
    `robustness probes: ${results.length} cases, ${count('crash')} crashes, ${count('hang')} hangs, ` +
    `${count('unhandled')} unhandled rejections, ${count('unclear')} unclear messages, ${count('ceiling')} over their memory ceiling` +
    (bombs.length ? `; peak RSS / ceiling: ${bombs.join(', ')}` : '')
  );
}

/** vitest's globalSetup: empties the results folder, and prints the summary line after the run. */
export default function setup(): () => void {
  rmSync(resultsDir, { recursive: true, force: true });
  mkdirSync(resultsDir, { recursive: true });
  return () => {
    let results: ProbeResult[] = [];
    try {
      results = readdirSync(resultsDir)
        .filter((f) => f.startsWith('results-'))
        .flatMap((f) =>
          readFileSync(path.join(resultsDir, f), 'utf8')
            .trim()
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as ProbeResult),
        );
    } catch {
      // nothing recorded
    }
    if (results.length > 0) {
      const line = summaryLine(results);
      console.log(`\n${line}`);
      const target = process.env.ALEXNET_PROBE_REPORT;
      if (target) writeFileSync(target, `${line}\n${results.map((r) => JSON.stringify(r)).join('\n')}\n`);
    }
    rmSync(resultsDir, { recursive: true, force: true });
  };
}
