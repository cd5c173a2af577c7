/**
 * The committed fixtures are what the committed script writes: make_fixtures.py is run into a
 * temporary folder and every file must come out byte for byte as committed (the script is
 * deterministic: seeded draws, one thread, sorted headers). Without PyTorch (outside CI) the weaker
 * check remains: each file records the SHA-256 of the make_fixtures.py that wrote it.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ciRequiresEverything, FIXTURES_DIR, loadFixture } from '../helpers';
import { pythonEnv, torchAvailable } from '../python';

const scriptHash = createHash('sha256')
  .update(readFileSync(join(__dirname, 'make_fixtures.py')))
  .digest('hex');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('reference fixtures', () => {
  const files = filesUnder(FIXTURES_DIR);

  it('exist, and stay small (a few MB in all)', () => {
    expect(files.filter((f) => f.endsWith('.safetensors')).length).toBeGreaterThanOrEqual(15);
    const bytes = files.reduce((n, f) => n + readFileSync(f).byteLength, 0);
    expect(bytes).toBeLessThan(6 * 1024 * 1024);
  });

  for (const file of files) {
    const name = relative(FIXTURES_DIR, file);
    it(`${name} comes from the current make_fixtures.py (else run npm run fixtures)`, () => {
      const recorded = name.endsWith('.json')
        ? (JSON.parse(readFileSync(file, 'utf8')) as { script_sha256: string }).script_sha256
        : loadFixture(name.replace(/\.safetensors$/, '')).metadata.script_sha256;
      expect(recorded).toBe(scriptHash);
    });
  }

  it('regenerate byte for byte from make_fixtures.py', { timeout: 180_000 }, (ctx) => {
    const torch = torchAvailable();
    if (!torch.ok) {
      if (ciRequiresEverything) throw new Error(torch.reason);
      ctx.skip(torch.reason);
    }
    const out = mkdtempSync(join(tmpdir(), 'alexnet-fixtures-'));
    try {
      const r = spawnSync('python3', [join(__dirname, 'make_fixtures.py'), out], { env: pythonEnv(), encoding: 'utf8' });
      expect(r.status, `make_fixtures.py failed:\n${r.stderr}`).toBe(0);
      const regenerated = filesUnder(out)
        .map((f) => relative(out, f))
        .sort();
      expect(regenerated).toEqual(files.map((f) => relative(FIXTURES_DIR, f)).sort());
      for (const name of regenerated) {
        const same = readFileSync(join(out, name)).equals(readFileSync(join(FIXTURES_DIR, name)));
        expect(same, `${name} differs from what make_fixtures.py writes now (run npm run fixtures and commit)`).toBe(true);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
