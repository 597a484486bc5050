// The ROC curves of membership attacks as a standalone SVG document, on log-log axes by default:
// the low-FPR region is where membership inference matters (Carlini et al. 2022, §3, who plot
// every ROC curve this way). Pure: curves in, a string out.
import { invalidArgument, invalidType } from '../errors.js';
import { integerIn, numberWhere, optionsObject, requiredObject, stringValue } from '../validate.js';
import type { RocCurve } from './roc.js';
import { rocValue } from './validate.js';

export interface RocPlotCurve {
  label: string;
  roc: RocCurve;
}

export interface RocPlotOptions {
  title?: string;
  /** 'log' (default): both axes logarithmic from minRate to 1; 'linear': [0, 1]. */
  scale?: 'log' | 'linear';
  /** Smallest rate shown on log axes (default 1e-4). */
  minRate?: number;
  width?: number;
  height?: number;
}

export const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function rocSvg(curves: readonly RocPlotCurve[], options: RocPlotOptions = {}): string {
  if (!Array.isArray(curves)) throw invalidType('curves', 'a non-empty array of { label, roc }', curves);
  if (curves.length === 0) throw invalidArgument('curves', 'a non-empty array of { label, roc }', curves);
  const plotted = Array.from(curves as unknown[], (c, k) => {
    const curve = requiredObject(`curves[${k}]`, c as RocPlotCurve);
    return { label: stringValue(`curves[${k}].label`, curve.label), roc: rocValue(`curves[${k}].roc`, curve.roc) };
  });
  const o = optionsObject('options', options);
  const scale = o.scale ?? 'log';
  if (scale !== 'log' && scale !== 'linear') throw invalidArgument('options.scale', '"log" or "linear"', scale);
  const minRate = o.minRate ?? 1e-4;
  // A floor at 1e-300 keeps the decade ticks (one per power of ten) few and in normal float64 range.
  numberWhere('options.minRate', minRate, (r) => r >= 1e-300 && r < 1, 'in [1e-300, 1)', 'a number in (0, 1)');
  const width =
    o.width === undefined ? 560 : integerIn('options.width', o.width, 100, 100000, 'an integer in [100, 100000]');
  const height =
    o.height === undefined ? 480 : integerIn('options.height', o.height, 100, 100000, 'an integer in [100, 100000]');
  const title = o.title === undefined ? undefined : stringValue('options.title', o.title);
  const m = { left: 64, right: 16, top: 36, bottom: 52 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const unit = (v: number) =>
    scale === 'linear' ? v : (Math.log10(Math.max(v, minRate)) - Math.log10(minRate)) / -Math.log10(minRate);
  const px = (v: number) => m.left + unit(v) * pw;
  const py = (v: number) => m.top + (1 - unit(v)) * ph;
  const f = (v: number) => v.toFixed(1);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  const ticks =
    scale === 'linear'
      ? [0, 0.2, 0.4, 0.6, 0.8, 1]
      : Array.from({ length: Math.round(-Math.log10(minRate)) + 1 }, (_, i) => minRate * 10 ** i);
  for (const t of ticks) {
    const label = scale === 'linear' ? t.toFixed(1) : t >= 1 ? '1' : `1e${Math.round(Math.log10(t))}`;
    parts.push(`<line x1="${f(px(t))}" y1="${m.top}" x2="${f(px(t))}" y2="${m.top + ph}" stroke="#ddd"/>`);
    parts.push(`<line x1="${m.left}" y1="${f(py(t))}" x2="${m.left + pw}" y2="${f(py(t))}" stroke="#ddd"/>`);
    parts.push(`<text x="${f(px(t))}" y="${m.top + ph + 16}" text-anchor="middle">${label}</text>`);
    parts.push(`<text x="${m.left - 6}" y="${f(py(t) + 4)}" text-anchor="end">${label}</text>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  // The chance line TPR = FPR.
  const diag = Array.from({ length: 41 }, (_, i) => (scale === 'linear' ? i / 40 : minRate ** (1 - i / 40)));
  parts.push(
    `<polyline fill="none" stroke="#999" stroke-dasharray="4 4" points="${diag.map((v) => `${f(px(v))},${f(py(v))}`).join(' ')}"/>`,
  );
  plotted.forEach(({ label, roc }, k) => {
    const pts: string[] = [];
    const add = (p: string) => {
      if (pts[pts.length - 1] !== p) pts.push(p); // points closer than the rounding add nothing
    };
    for (let i = 0; i < roc.fpr.length; i++) {
      // Step curve: hold TPR until the FPR moves (what an attacker can actually achieve).
      if (i > 0) add(`${f(px(roc.fpr[i]!))},${f(py(roc.tpr[i - 1]!))}`);
      add(`${f(px(roc.fpr[i]!))},${f(py(roc.tpr[i]!))}`);
    }
    const color = COLORS[k % COLORS.length]!;
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts.join(' ')}"/>`);
    parts.push(
      `<line x1="${m.left + 12}" y1="${m.top + 14 + 16 * k}" x2="${m.left + 32}" y2="${m.top + 14 + 16 * k}" stroke="${color}" stroke-width="2"/>`,
    );
    parts.push(`<text x="${m.left + 38}" y="${m.top + 18 + 16 * k}">${escapeXml(label)}</text>`);
  });
  parts.push(`<text x="${m.left + pw / 2}" y="${height - 12}" text-anchor="middle">false positive rate</text>`);
  parts.push(
    `<text x="16" y="${m.top + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${m.top + ph / 2})">true positive rate</text>`,
  );
  if (title) parts.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
