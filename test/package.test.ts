/**
 * package.json's scripts do what their names say: none runs by accident as another's npm pre- or
 * post-hook (a script once named `prebuild` ran before every build and test, built both prebuilt
 * binaries, and failed wherever cuDNN or patchelf were missing).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { scripts: Record<string, string> };

// Scripts npm runs by itself (https://docs.npmjs.com/cli/using-npm/scripts#life-cycle-scripts).
const LIFECYCLE = [
  'install',
  'prepare',
  'prepack',
  'postpack',
  'publish',
  'pack',
  'test',
  'start',
  'stop',
  'restart',
  'version',
  'uninstall',
  'ci',
];

describe('package.json scripts', () => {
  it('none is a pre- or post-hook of another script or of an npm command', () => {
    const names = Object.keys(pkg.scripts);
    const hooks = names.filter((name) => {
      const m = /^(pre|post)(.+)$/.exec(name);
      return m !== null && (names.includes(m[2]) || LIFECYCLE.includes(m[2]));
    });
    expect(hooks).toEqual([]);
  });

  it('the only lifecycle script is install (the prebuilt-binary loader, or a build from source)', () => {
    expect(Object.keys(pkg.scripts).filter((name) => LIFECYCLE.includes(name) && name !== 'test')).toEqual(['install']);
    expect(pkg.scripts.install).toBe('node scripts/install.js');
  });

  it('has the documented entry points: setup, test, prebuilds (packaging only)', () => {
    expect(pkg.scripts.setup).toBe('bash scripts/setup.sh');
    expect(pkg.scripts.test).toMatch(/vitest run/);
    expect(pkg.scripts.prebuilds).toBe('node scripts/prebuild.js');
  });
});
