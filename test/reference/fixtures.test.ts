/**
 * The committed fixtures were written by the committed script: each file records the SHA-256 of
 * make_fixtures.py that wrote it, so editing the script without running `npm run fixtures` fails here.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

import { describe, expect, it } from 'vitest';

import { FIXTURES_DIR, loadFixture } from '../helpers';

const scriptHash = createHash('sha256').update(readFileSync(join(__dirname, 'make_fixtures.py'))).digest('hex');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
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
});
