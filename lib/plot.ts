/**
 * Training curves as an image a person can open: loss (left) and top-1 accuracy (right) per
 * epoch, training and validation, drawn as SVG and converted to PNG with sharp (librsvg).
 * @module
 */
import { writeFileAtomic } from './io/fileWriter';
import { isArray } from './validate';

/** What one epoch contributes to the curves. */
export interface CurvePoint {
  /** 0-based epoch. */
  epoch: number;
  /** Mean training loss. */
  trainLoss: number;
  /** Training top-1 accuracy. */
  trainTop1: number;
  /** Validation loss, or null (not drawn). */
  valLoss: number | null;
  /** Validation top-1 accuracy, or null (not drawn). */
  valTop1: number | null;
}

const WIDTH = 960;
const HEIGHT = 400;
const COLORS = { train: '#1f77b4', val: '#d62728' };

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** About five round tick values covering [lo, hi]. */
function ticks(lo: number, hi: number): number[] {
  const span = hi - lo || 1;
  const raw = span / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

interface Series {
  name: string;
  color: string;
  values: (number | null)[];
}

function panel(
  x0: number,
  title: string,
  epochs: number[],
  series: Series[],
  legendAt: 'top' | 'bottom',
  fixedRange?: [number, number],
): string {
  const left = x0 + 60;
  const right = x0 + WIDTH / 2 - 20;
  const top = 40;
  const bottom = HEIGHT - 50;
  const finite = series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  let [lo, hi] = fixedRange ?? [Math.min(...finite, Infinity), Math.max(...finite, -Infinity)];
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  if (hi - lo < 1e-9) [lo, hi] = [lo - 0.5, hi + 0.5];
  const pad = fixedRange ? 0 : (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  const firstEpoch = epochs[0] ?? 1;
  const lastEpoch = Math.max(epochs.at(-1) ?? 1, firstEpoch + 1);
  const sx = (e: number) => left + ((e - firstEpoch) / (lastEpoch - firstEpoch)) * (right - left);
  const sy = (v: number) => bottom - ((v - lo) / (hi - lo)) * (bottom - top);
  const parts: string[] = [];
  parts.push(`<text x="${(left + right) / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(title)}</text>`);
  parts.push(`<rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="none" stroke="#444"/>`);
  for (const v of ticks(lo, hi)) {
    const y = sy(v);
    parts.push(`<line x1="${left}" x2="${right}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 6}" y="${y + 4}" text-anchor="end" font-size="11">${v}</text>`);
  }
  const xTicks = ticks(firstEpoch, lastEpoch).filter((e) => Number.isInteger(e));
  for (const e of xTicks) {
    parts.push(`<text x="${sx(e)}" y="${bottom + 16}" text-anchor="middle" font-size="11">${e}</text>`);
  }
  parts.push(`<text x="${(left + right) / 2}" y="${bottom + 36}" text-anchor="middle" font-size="12">epoch</text>`);
  series.forEach((s, i) => {
    const points = s.values
      .map((v, j) => (v === null || !Number.isFinite(v) ? null : `${sx(epochs[j]!).toFixed(1)},${sy(v).toFixed(1)}`))
      .filter((p): p is string => p !== null);
    if (points.length === 0) return;
    parts.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const p of points) {
      const [cx, cy] = p.split(',');
      parts.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${s.color}"/>`);
    }
    // Loss falls and accuracy rises: the legend goes where the curves are not.
    const ly = legendAt === 'top' ? top + 16 + i * 18 : bottom - 10 - (series.length - 1 - i) * 18;
    parts.push(`<line x1="${right - 110}" x2="${right - 90}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"/>`);
    parts.push(`<text x="${right - 84}" y="${ly}" font-size="12">${escapeXml(s.name)}</text>`);
  });
  return parts.join('\n');
}

/** The curves as an SVG document. */
export function renderCurvesSvg(points: readonly CurvePoint[], title = 'training curves'): string {
  if (!isArray(points)) throw new TypeError('points must be an array of per-epoch records');
  const epochs = points.map((p) => p.epoch + 1);
  const hasVal = points.some((p) => p.valLoss !== null);
  const lossSeries: Series[] = [{ name: 'train loss', color: COLORS.train, values: points.map((p) => p.trainLoss) }];
  const accSeries: Series[] = [{ name: 'train top-1', color: COLORS.train, values: points.map((p) => p.trainTop1) }];
  if (hasVal) {
    lossSeries.push({ name: 'val loss', color: COLORS.val, values: points.map((p) => p.valLoss) });
    accSeries.push({ name: 'val top-1', color: COLORS.val, values: points.map((p) => p.valTop1) });
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT + 20}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="${HEIGHT + 12}" text-anchor="middle" font-size="11" fill="#666">${escapeXml(title)}</text>`,
    panel(0, 'loss', epochs, lossSeries, 'top'),
    panel(WIDTH / 2, 'top-1 accuracy', epochs, accSeries, 'bottom', [0, 1]),
    '</svg>',
  ].join('\n');
}

/** Renders the curves and writes them as a PNG (atomically). */
export async function writeCurvesPng(file: string, points: readonly CurvePoint[], title?: string): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sharp = require('sharp') as typeof import('sharp');
  const png = await sharp(Buffer.from(renderCurvesSvg(points, title)))
    .png()
    .toBuffer();
  await writeFileAtomic(file, png);
}
