import * as fs from 'node:fs';
import * as path from 'node:path';

let cached: string | undefined;

/** The folder holding alexnet-cuda's package.json, from the source tree (lib/) or the build (dist/). */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = __dirname;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      const name = (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name;
      if (name === 'alexnet-cuda') return (cached = dir);
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`alexnet-cuda: cannot find the package root above ${__dirname}`);
    dir = parent;
  }
}
