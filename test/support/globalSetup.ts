/**
 * The GPU suite's summary (vitest.gpu.config.ts's globalSetup; the CPU suite has none, so its
 * checks record nothing). Before the run: a folder where each test process appends its records
 * (report.ts). After the run: a table of the worst error per op, the failing checks in full, and
 * why anything was skipped; with ALEXNET_GPU_REPORT=path, the same as JSON (one entry per check:
 * name, group, maxRelativeError, tolerance, pass, detail).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { TestProject } from 'vitest/node';

import type { CheckRecord, ReportLine } from './report';

interface GroupRow {
  group: string;
  checks: number;
  failed: number;
  worst: number | null;
  tolerances: Set<string>;
}

function formatError(value: number | null): string {
  if (value === null) return '-';
  if (value === 0) return '0';
  if (!Number.isFinite(value)) return String(value);
  return value.toExponential(1);
}

function formatTolerance(t: number | string): string {
  return typeof t === 'number' ? (t === 0 ? '0' : t.toExponential(0)) : t;
}

function summarize(lines: ReportLine[]): { text: string; json: object } {
  const checks = lines.filter((l): l is Extract<ReportLine, { type: 'check' }> => l.type === 'check');
  const skips = lines.filter((l): l is Extract<ReportLine, { type: 'skip' }> => l.type === 'skip');
  const info = Object.fromEntries(
    lines.filter((l): l is Extract<ReportLine, { type: 'info' }> => l.type === 'info').map((l) => [l.key, l.value]),
  );
  const rows = new Map<string, GroupRow>();
  for (const c of checks) {
    let row = rows.get(c.group);
    if (!row) rows.set(c.group, (row = { group: c.group, checks: 0, failed: 0, worst: null, tolerances: new Set() }));
    row.checks++;
    if (!c.pass) row.failed++;
    if (c.maxRelativeError !== null) row.worst = Math.max(row.worst ?? 0, c.maxRelativeError);
    row.tolerances.add(formatTolerance(c.tolerance) + (c.measure === 'normwise' ? ' (normwise)' : ''));
  }
  const failed = checks.filter((c) => !c.pass);
  const out: string[] = [''];
  const where = [info.device, info.backend].filter(Boolean).join(', ');
  out.push(
    `GPU suite summary${where ? ` (${where})` : ''}: ${checks.length} checks, ${checks.length - failed.length} passed, ${failed.length} failed`,
  );
  if (info.rehearsal === true) {
    out.push('REHEARSAL: the backend under test was the CPU build (ALEXNET_GPU_TEST_BACKEND=cpu); nothing here describes CUDA.');
  }
  if (rows.size > 0) {
    out.push('', '| check | n | worst relative error | tolerance | result |', '|---|---|---|---|---|');
    for (const r of rows.values()) {
      const result = r.failed === 0 ? 'pass' : `FAIL (${r.failed})`;
      out.push(`| ${r.group} | ${r.checks} | ${formatError(r.worst)} | ${[...r.tolerances].join(', ')} | ${result} |`);
    }
  }
  if (failed.length > 0) {
    out.push('', 'Failed checks:');
    for (const c of failed) out.push(`  - [${c.group}] ${c.detail ?? c.name}`);
  }
  const reasons = [...new Set(skips.map((s) => s.reason))];
  if (reasons.length > 0) {
    const what = checks.length === 0 ? 'NO GPU CHECK RAN: every GPU test block was skipped' : `Skipped ${skips.length} GPU test block(s)`;
    out.push('', `${what}: ${reasons.join(' | ')}`);
  }
  out.push('');
  const json = {
    generated: new Date().toISOString(),
    source: sourceRevision(),
    info,
    summary: { checks: checks.length, passed: checks.length - failed.length, failed: failed.length },
    checks: checks.map(({ name, group, maxRelativeError, measure, tolerance, pass, detail }): CheckRecord => ({
      name,
      group,
      maxRelativeError,
      measure,
      tolerance,
      pass,
      detail,
    })),
    skipped: skips.map(({ title, reason }) => ({ title, reason })),
  };
  return { text: out.join('\n'), json };
}

/**
 * The commit the suite ran on, so a report says which code it measured: `git rev-parse HEAD` (and
 * whether the tree had uncommitted changes) where the checkout is a git repository, else what
 * scripts/device-bundle.sh recorded in .device/source.json (a GPU machine gets a copy without .git).
 */
function sourceRevision(): { commit: string; dirty: boolean | null; from: string } {
  const root = join(__dirname, '..', '..');
  const git = (...args: string[]) => spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  const head = git('rev-parse', 'HEAD');
  if (head.status === 0) {
    const status = git('status', '--porcelain', '--untracked-files=no');
    return { commit: head.stdout.trim(), dirty: status.status === 0 ? status.stdout.trim() !== '' : null, from: 'git' };
  }
  const recorded = join(root, '.device', 'source.json');
  if (existsSync(recorded)) {
    const { commit, dirty } = JSON.parse(readFileSync(recorded, 'utf8')) as { commit: string; dirty: boolean };
    return { commit, dirty, from: '.device/source.json' };
  }
  return { commit: 'unknown', dirty: null, from: 'none' };
}

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-gpu-report-'));
  project.provide('gpuReportDir', dir);
  return () => {
    const file = join(dir, 'records.jsonl');
    const lines = existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => l.length > 0)
          .map((l) => JSON.parse(l) as ReportLine)
      : [];
    const { text, json } = summarize(lines);
    process.stdout.write(text + '\n');
    const target = process.env.ALEXNET_GPU_REPORT;
    if (target) {
      writeFileSync(target, JSON.stringify(json, null, 1) + '\n');
      process.stdout.write(`GPU suite report written to ${target}\n`);
    }
    rmSync(dir, { recursive: true, force: true });
  };
}
