/**
 * Tests that run compiled code (the CLI, child processes, data-loading worker threads) need dist/
 * to match lib/. `npm test` builds it first; when a single test file runs on its own and dist/ is
 * missing or older than a source, this builds it once (under a lock, since vitest runs test files
 * in parallel processes).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const distRoot = path.join(repoRoot, 'dist');
/** The CLI entry point as the package's bin runs it. */
export const cliMain = path.join(distRoot, 'cli', 'main.js');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

function stale(): string | undefined {
  for (const ts of sources(path.join(repoRoot, 'lib'))) {
    const js = path.join(distRoot, path.relative(path.join(repoRoot, 'lib'), ts)).replace(/\.ts$/, '.js');
    if (!existsSync(js) || statSync(js).mtimeMs < statSync(ts).mtimeMs) return ts;
  }
  return undefined;
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Makes sure dist/ is built from the current sources. */
export function ensureDist(): void {
  if (!stale()) return;
  const lock = path.join(os.tmpdir(), `alexnet-dist-build-${Buffer.from(repoRoot).toString('hex').slice(-16)}.lock`);
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another test process is building; a lock older than three minutes is left over from a crash.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 180_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        /* gone meanwhile */
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      sleep(200);
    }
  }
  try {
    const culprit = stale();
    if (!culprit) return;
    const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: repoRoot, encoding: 'utf8' });
    // tsc still emits when some other file has a type error; what matters here is that our files exist.
    if (r.status !== 0)
      console.warn(`tsc reported errors while building dist/ (${path.relative(repoRoot, culprit)} was stale):\n${r.stdout}`);
    if (!existsSync(path.join(distRoot, 'index.js'))) throw new Error(`building dist/ failed:\n${r.stdout}${r.stderr}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
