/**
 * Plain-text tables for the benchmark scripts' output: text columns left-aligned, numeric ones
 * right-aligned, so the ratios line up for reading at a glance.
 */

/** A cell: text, or a number printed with `digits` decimals (null prints as '-'). */
export type Cell = string | number | null;

export interface Column {
  header: string;
  /** Decimals for numbers; default 1. */
  digits?: number;
}

function show(cell: Cell, digits: number): string {
  if (cell === null) return '-';
  if (typeof cell === 'number') return Number.isFinite(cell) ? cell.toFixed(digits) : String(cell);
  return cell;
}

/** The table as lines of text; a row of `null` alone prints a separator. */
export function formatTable(columns: Column[], rows: (Cell[] | null)[]): string {
  const text = rows.map((row) => row?.map((cell, i) => show(cell, columns[i]?.digits ?? 1)) ?? null);
  const numeric = columns.map((_, i) => rows.some((r) => typeof r?.[i] === 'number'));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...text.map((r) => r?.[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const body = text.map((r) => (r === null ? rule : line(r)));
  return [line(columns.map((c) => c.header)), rule, ...body].join('\n');
}

/** ours / theirs, or null when either is missing. */
export function ratio(ours: number | null | undefined, theirs: number | null | undefined): number | null {
  if (ours == null || theirs == null || !(theirs > 0)) return null;
  return ours / theirs;
}
