/**
 * Sets our per-convolution timings (bench/convLayers.ts) beside PyTorch's (bench/torch_conv_layers.py)
 * as one table: for each preset, math mode, layer and direction, our median, PyTorch's, the ratio
 * ours / PyTorch (below 1: we are faster), what our engine chose and the kernel PyTorch spent the
 * most time in. Rows are matched by preset, mode and layer name, and their shapes must agree (input,
 * weight, stride, padding, groups): a mismatch is an error, since the two scripts would then be
 * timing different convolutions.
 *
 *     npx tsx bench/convCompare.ts ours.json torch.json [--markdown table.md]
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';

import { parseArgs } from 'node:util';

import { DIRECTIONS, type ConvDirection, type ConvLayersReport } from './convLayers';
import { formatTable, ratio, type Cell } from './table';

/** A row of PyTorch's JSON (torch_conv_layers.py), as far as the comparison reads it. */
export interface TorchConvRow {
  model: string;
  mode: string;
  layer: string;
  input: number[];
  weight: number[];
  stride: number | number[];
  padding: number | number[];
  groups: number;
  [key: string]: unknown;
}

/** PyTorch's JSON as a whole. */
export interface TorchConvReport {
  environment: Record<string, unknown>;
  layers: TorchConvRow[];
}

/** One line of the comparison. */
export interface ConvComparison {
  model: string;
  mode: string;
  layer: string;
  direction: ConvDirection | 'forward_relu';
  oursMs: number | null;
  torchMs: number | null;
  /** ours / PyTorch; below 1 we are faster. */
  ratio: number | null;
  oursEngine: string;
  torchKernel: string;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** [top, bottom, left, right] from either script's padding. */
function sides(p: number | number[]): number[] {
  return typeof p === 'number' ? [p, p, p, p] : p.length === 2 ? [p[0], p[0], p[1], p[1]] : p;
}

function pair(s: number | number[]): number[] {
  return typeof s === 'number' ? [s, s] : s;
}

/**
 * A short account of what our engine did, from the log lines of one direction (conv2d.cc and
 * conv2d_graph.cc write them): the graph engine and knobs of the plan that runs, whether the fused
 * or the separate way won, the legacy algorithm where the legacy engine ran it.
 */
export function summarizeEngine(lines: readonly string[] | undefined): string {
  if (!lines || lines.length === 0) return '(chosen before)';
  if (lines.length === 1 && !lines[0].startsWith('conv ')) return lines[0];
  const plans = new Map<string, string>();
  let fusion: string | null = null;
  let bias: string | null = null;
  let legacy: string | null = null;
  for (const line of lines) {
    const plan = /^conv (\S+) .*?: graph (engine \d+ knobs \S+), /.exec(line);
    if (plan) plans.set(plan[1], plan[2]);
    const decided =
      /^conv \S+ .*?: fused [\d.-]+ ms, separate [\d.-]+ ms: (fused|separate)$/.exec(line) ??
      /^conv \S+ .*?: (fused|separate) \(.*\); from the plan cache$/.exec(line);
    if (decided) fusion = decided[1]!;
    const beside = /bias gradient (?:beside [\d.-]+ ms, inline [\d.-]+ ms: )?(beside|inline)/.exec(line);
    if (beside) bias = beside[1]!;
    const old = /^conv legacy \S+ .*: (algorithm \d+, \S+ math)/.exec(line);
    if (old) legacy = `legacy ${old[1]}`;
  }
  const parts: string[] = [];
  const fusedKey = [...plans.keys()].find((k) => k.includes('+'));
  const plainKey = [...plans.keys()].find((k) => !k.includes('+'));
  if (fusion === 'fused' && fusedKey) parts.push(`fused ${plans.get(fusedKey)}`);
  else if (plainKey) parts.push(`${plans.get(plainKey)}${fusion === 'separate' ? ' + our epilogue' : ''}`);
  else if (fusedKey) parts.push(`fused ${plans.get(fusedKey)}`);
  if (legacy) parts.push(legacy);
  if (bias) parts.push(`bias grad ${bias}`);
  return parts.length ? parts.join('; ') : lines.join(' | ').slice(0, 80);
}

/** The rows of both reports side by side; `mismatches` lists rows whose shapes differ or that only one side has. */
export function compareConvLayers(ours: ConvLayersReport, torch: TorchConvReport): { rows: ConvComparison[]; mismatches: string[] } {
  const rows: ConvComparison[] = [];
  const mismatches: string[] = [];
  const theirs = new Map(torch.layers.map((r) => [`${r.model}/${r.mode}/${r.layer}`, r]));
  for (const o of ours.layers) {
    const name = `${o.model}/${o.mode}/${o.layer}`;
    const t = theirs.get(name);
    if (!t) {
      mismatches.push(`${name}: PyTorch's report has no such row`);
      continue;
    }
    theirs.delete(name);
    const differs: string[] = [];
    const differ = (what: string, a: unknown, b: unknown) => differs.push(`${what} ours ${JSON.stringify(a)} PyTorch ${JSON.stringify(b)}`);
    for (const k of ['input', 'weight', 'groups'] as const) if (!same(o[k], t[k])) differ(k, o[k], t[k]);
    if (!same(pair(o.stride), pair(t.stride))) differ('stride', o.stride, t.stride);
    if (!same(sides(o.padding), sides(t.padding))) differ('padding', o.padding, t.padding);
    if (differs.length) {
      mismatches.push(`${name}: ${differs.join(', ')}`);
      continue;
    }
    for (const direction of [...DIRECTIONS, 'forward_relu'] as const) {
      const oursMs = (o as unknown as Record<string, number | undefined>)[`${direction}_ms`] ?? null;
      const torchMs = direction === 'forward_relu' ? null : ((t[`${direction}_ms`] as number | undefined) ?? null);
      if (oursMs === null && torchMs === null) continue;
      const kernels = (t[`${direction}_kernels`] as [string, number][] | undefined) ?? [];
      rows.push({
        model: o.model,
        mode: o.mode,
        layer: o.layer,
        direction,
        oursMs,
        torchMs,
        ratio: ratio(oursMs, torchMs),
        oursEngine: summarizeEngine((o as unknown as Record<string, string[] | undefined>)[`${direction}_engine`]),
        torchKernel: kernels[0]?.[0]?.slice(0, 60) ?? '',
      });
    }
  }
  const modes = new Set(ours.layers.map((r) => `${r.model}/${r.mode}`));
  for (const name of theirs.keys()) {
    const [model, mode] = name.split('/');
    if (modes.has(`${model}/${mode}`)) mismatches.push(`${name}: our report has no such row`);
  }
  return { rows, mismatches };
}

/** The comparison as a plain-text table (or a Markdown one). */
export function comparisonTable(rows: readonly ConvComparison[], markdown = false): string {
  const header = ['preset', 'math', 'layer', 'direction', 'ours ms', 'torch ms', 'ours/torch', 'our engine', 'PyTorch kernel'];
  const cells = rows.map((r): Cell[] => [r.model, r.mode, r.layer, r.direction, r.oursMs, r.torchMs, r.ratio, r.oursEngine, r.torchKernel]);
  if (!markdown) {
    return formatTable(
      header.map((h, i) => ({ header: h, digits: i === 6 ? 2 : 3 })),
      cells,
    );
  }
  const show = (c: Cell, i: number) => (c === null ? '-' : typeof c === 'number' ? c.toFixed(i === 6 ? 2 : 3) : c.replace(/\|/g, '\\|'));
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...cells.map((row) => `| ${row.map(show).join(' | ')} |`),
  ].join('\n');
}

/** How many directions are slower than PyTorch's, of those both sides timed. */
export function slowerCount(rows: readonly ConvComparison[]): { slower: number; compared: number } {
  const compared = rows.filter((r) => r.ratio !== null);
  return { slower: compared.filter((r) => r.ratio! > 1).length, compared: compared.length };
}

function main(): void {
  const usage = 'usage: npx tsx bench/convCompare.ts OURS.json TORCH.json [--markdown FILE]\n';
  let parsed;
  try {
    parsed = parseArgs({ args: process.argv.slice(2), options: { markdown: { type: 'string' } }, allowPositionals: true, strict: true });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${usage}`);
    process.exit(2);
  }
  if (parsed.positionals.length !== 2) {
    process.stderr.write(`expected two JSON files (ours, PyTorch's), got ${parsed.positionals.length}\n${usage}`);
    process.exit(2);
  }
  const [oursFile, torchFile] = parsed.positionals as [string, string];
  const read = (file: string) => {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as unknown;
    } catch (error) {
      throw new Error(`cannot read ${file}: ${(error as Error).message}`);
    }
  };
  const ours = read(oursFile) as ConvLayersReport;
  const torch = read(torchFile) as TorchConvReport;
  for (const [file, report] of [
    [oursFile, ours],
    [torchFile, torch],
  ] as const) {
    if (!report || typeof report !== 'object' || !Array.isArray((report as { layers?: unknown }).layers)) {
      throw new Error(`${file}: expected a JSON object with a "layers" array`);
    }
  }
  const { rows, mismatches } = compareConvLayers(ours, torch);
  process.stdout.write(`ours: ${JSON.stringify(ours.environment)}\nPyTorch: ${JSON.stringify(torch.environment)}\n\n`);
  process.stdout.write(`${comparisonTable(rows)}\n`);
  const { slower, compared } = slowerCount(rows);
  process.stdout.write(`\n${slower} of ${compared} directions slower than PyTorch (ours/torch > 1)\n`);
  if (parsed.values.markdown) {
    writeFileSync(parsed.values.markdown, `${comparisonTable(rows, true)}\n`);
    process.stdout.write(`wrote ${parsed.values.markdown}\n`);
  }
  if (mismatches.length) {
    process.stderr.write(`the reports do not describe the same convolutions:\n  ${mismatches.join('\n  ')}\n`);
    process.exit(1);
  }
}

if (require.main === module) {
  try {
    main();
  } catch (error) {
    process.stderr.write(`convCompare failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
