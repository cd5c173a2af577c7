/**
 * The typings as a consumer gets them: `npm pack` the project, install the tarball into a temporary
 * project (offline: the package's runtime dependencies are linked from this repository's
 * node_modules, and install scripts do not run), and compile test/package/consumer there with this
 * repository's TypeScript under a strict tsconfig with no @types/node and skipLibCheck off. Every
 * declaration the package's entry point reaches is then checked; a Node type in one (Buffer,
 * NodeJS.*, node:stream) fails to compile, as it would for such a consumer.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..', '..');
const consumerSource = path.join(__dirname, 'consumer');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');

let work = '';
let app = '';
let installed = '';

function filesUnder(dir: string, keep: (file: string) => boolean): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => path.join(dir, f))
    .filter((f) => statSync(f).isFile() && keep(f));
}

/** A dist/ older than the source would test yesterday's typings: say so instead. */
function checkDistIsFresh(): void {
  const entry = path.join(root, 'dist', 'index.d.ts');
  if (!existsSync(entry)) throw new Error('dist/index.d.ts is missing: run `npm run build:ts` first (`npm test` does)');
  const built = Math.min(...filesUnder(path.join(root, 'dist'), (f) => f.endsWith('.d.ts')).map((f) => statSync(f).mtimeMs));
  const newer = filesUnder(path.join(root, 'lib'), (f) => f.endsWith('.ts')).filter((f) => statSync(f).mtimeMs > built);
  if (newer.length > 0) {
    throw new Error(`dist/ is older than ${path.relative(root, newer[0])}: run \`npm run build:ts\` first (\`npm test\` does)`);
  }
}

function compile(project: string, ...extra: string[]): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [tsc, '-p', project, ...extra], { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

beforeAll(() => {
  checkDistIsFresh();
  work = mkdtempSync(path.join(tmpdir(), 'alexnet-typings-'));
  const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: root, encoding: 'utf8' });
  const tarball = path.join(work, packed.trim().split('\n').pop()!);

  app = path.join(work, 'app');
  execFileSync('mkdir', [app]);
  for (const file of ['index.ts', 'tsconfig.json']) copyFileSync(path.join(consumerSource, file), path.join(app, file));
  // The runtime dependencies come from this repository's node_modules (links), so that nothing is
  // downloaded; TypeScript never reads them unless a declaration of the package imports one.
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const overrides: Record<string, string> = {};
  for (const name of Object.keys(pkg.dependencies)) {
    const local = path.join(root, 'node_modules', name);
    if (!existsSync(local)) throw new Error(`${local} is missing: run npm ci first`);
    overrides[name] = `file:${local}`;
  }
  writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify({ name: 'typings-consumer', private: true, type: 'module', overrides }, null, 2),
  );
  execFileSync('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock', tarball], {
    cwd: app,
    encoding: 'utf8',
    stdio: 'pipe',
  });
  installed = path.join(app, 'node_modules', 'alexnet-cuda');
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed typings', () => {
  it('are installed from the tarball (a copy, not a link to this repository) with no @types/node', () => {
    expect(realpathSync(installed)).toBe(installed);
    expect(existsSync(path.join(installed, 'dist', 'index.d.ts'))).toBe(true);
    expect(existsSync(path.join(app, 'node_modules', '@types'))).toBe(false);
  });

  it('compile in a strict consumer project without @types/node (types: [], skipLibCheck: false), typed results needing no casts', () => {
    const { status, output } = compile(app);
    expect(output).toBe('');
    expect(status).toBe(0);
  });

  it("bring nothing into the consumer's program but the package's own declarations and TypeScript's libraries", () => {
    const { status, output } = compile(app, '--listFilesOnly');
    expect(status, output).toBe(0);
    const libDir = path.join(root, 'node_modules', 'typescript', 'lib') + path.sep;
    const files = output
      .trim()
      .split('\n')
      .map((f) => path.resolve(f));
    const fromPackage = files.filter((f) => f.startsWith(installed + path.sep));
    const others = files.filter((f) => !f.startsWith(libDir) && !fromPackage.includes(f) && f !== path.join(app, 'index.ts'));
    expect(others).toEqual([]);
    expect(fromPackage).toContain(path.join(installed, 'dist', 'index.d.ts'));
    expect(fromPackage.length).toBeGreaterThan(20);
  });

  it('fail to compile when a Node type leaks into a packed declaration (the check above can fail)', () => {
    const entry = path.join(installed, 'dist', 'index.d.ts');
    const original = readFileSync(entry, 'utf8');
    try {
      writeFileSync(
        entry,
        `${original}\nexport declare function leakedBuffer(): Buffer;\nexport type LeakedStream = import('node:stream').Writable;\n`,
      );
      const { status, output } = compile(app);
      expect(status).not.toBe(0);
      expect(output).toMatch(/dist\/index\.d\.ts.*Cannot find name 'Buffer'/);
      expect(output).toMatch(/dist\/index\.d\.ts.*node:stream/);
    } finally {
      writeFileSync(entry, original);
    }
  });

  it('ship no source map that points outside the package (the published build emits none)', () => {
    const scripts = filesUnder(installed, (f) => f.endsWith('.js'));
    expect(scripts.length).toBeGreaterThan(20);
    const problems: string[] = [];
    for (const script of scripts) {
      const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(script, 'utf8'))?.[1];
      if (url === undefined) continue;
      const map = path.resolve(path.dirname(script), url);
      if (!existsSync(map)) {
        problems.push(`${path.relative(installed, script)}: its map ${url} is not packed`);
        continue;
      }
      const { sources, sourceRoot = '' } = JSON.parse(readFileSync(map, 'utf8')) as { sources: string[]; sourceRoot?: string };
      for (const source of sources) {
        if (!existsSync(path.resolve(path.dirname(map), sourceRoot, source)))
          problems.push(`${path.relative(installed, map)}: source ${source} is not packed`);
      }
    }
    expect(problems).toEqual([]);
    expect(filesUnder(installed, (f) => f.endsWith('.map'))).toEqual([]);
  });
});
