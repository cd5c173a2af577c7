/**
 * `alexnet info`: versions, which backends can run here (and why not), the device, and whether
 * Fashion-MNIST is found.
 * @module
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { backendAvailability, getBackend, type BackendKind } from '../backend/backend';
import { packageRoot } from '../backend/packageRoot';
import { fashionMnistSearchPaths, hasMnistStyleFiles } from '../data/fashionMnist';
import type { CommandSpec, ParsedArgs } from './args';
import { EXIT, type CliIo, type Command } from './command';

const spec: CommandSpec = {
  name: 'info',
  summary: 'versions, available backends (and why not), device and dataset locations',
  usage: '[--json]',
  options: { json: { type: 'boolean', description: 'print the information as JSON' } },
};

function sharpVersions(): Record<string, string> | string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const sharp = require('sharp') as typeof import('sharp');
    return { sharp: sharp.versions.sharp, libvips: sharp.versions.vips };
  } catch (error) {
    return `sharp cannot load: ${(error as Error).message.split('\n')[0]}`;
  }
}

async function run(args: ParsedArgs, io: CliIo): Promise<number> {
  const version = (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  const availability = backendAvailability();
  const backends: Record<string, unknown> = {};
  for (const kind of Object.keys(availability) as BackendKind[]) {
    const a = availability[kind];
    let details: Record<string, unknown> | string | null = null;
    if (a.available) {
      try {
        details = getBackend(kind).info();
      } catch (error) {
        details = `failed to start: ${(error as Error).message}`;
      }
    }
    backends[kind] = { available: a.available, ...(a.reasons.length ? { reasons: a.reasons } : {}), ...(details ? { info: details } : {}) };
  }
  const fashionMnist = fashionMnistSearchPaths().find((d) => hasMnistStyleFiles(d)) ?? null;
  const report = {
    'alexnet-cuda': version,
    node: process.versions.node,
    napi: process.versions.napi,
    platform: `${process.platform}-${process.arch}`,
    images: sharpVersions(),
    backends,
    fashionMnist: fashionMnist ?? { found: false, searched: fashionMnistSearchPaths() },
  };
  if (args.values.json === true) {
    io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return EXIT.ok;
  }
  const out = (line: string) => io.stdout.write(`${line}\n`);
  out(`alexnet-cuda ${version}, Node ${process.versions.node} (N-API ${process.versions.napi}), ${report.platform}`);
  const images = report.images;
  out(typeof images === 'string' ? `images: ${images}` : `images: sharp ${images.sharp}, libvips ${images.libvips}`);
  for (const [kind, value] of Object.entries(backends)) {
    const b = value as { available: boolean; reasons?: string[]; info?: Record<string, unknown> | string };
    out(`backend ${kind}: ${b.available ? 'available' : 'not available'}`);
    for (const r of b.reasons ?? []) out(`  - ${r}`);
    if (typeof b.info === 'string') out(`  ${b.info}`);
    else for (const [k, v] of Object.entries(b.info ?? {})) out(`  ${k}: ${String(v)}`);
  }
  out(
    fashionMnist
      ? `Fashion-MNIST: ${fashionMnist}`
      : `Fashion-MNIST: not found (looked in ${fashionMnistSearchPaths().join(', ')}; see alexnet train --help)`,
  );
  return EXIT.ok;
}

/** `alexnet info`. */
export const infoCommand: Command = { spec, run };
