// `dpfl fairness --plot`: per-group accuracy against ε and the counterfactual gap against ε, as one standalone
// SVG document written by hand (the approach and helpers of src/audit/roc-svg.ts: no plotting dependency).
// Panels side by side; in each, one series per group: a polyline through the mean over seeds and a vertical bar
// for each point's interval (the mean of the seeds' bootstrap bounds). Pure: panels in, a string out.
import { COLORS, escapeXml } from '../../audit/roc-svg.js';

export interface PlotPoint {
  value: number;
  lower: number;
  upper: number;
}

export interface PlotSeries {
  label: string;
  /** One point per x label; null or a NaN value: no point there. */
  points: (PlotPoint | null)[];
}

export interface PlotPanel {
  title: string;
  yLabel: string;
  /** The categories of the x axis, left to right (the ε values, then "no DP"). */
  xLabels: string[];
  series: PlotSeries[];
}

// roc-svg's six colours and four more: MNIST has ten classes.
const PALETTE = [...COLORS, '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const f = (v: number) => v.toFixed(1);

/** Legend rows below the plot area. */
const LEGEND_ROW = 15;

function panelSvg(p: PlotPanel, x0: number, width: number, height: number, legendRows: number): string[] {
  const m = { left: 56, right: 12, top: 36, bottom: 52 + legendRows * LEGEND_ROW };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const values = p.series.flatMap((s) =>
    s.points.flatMap((q) => (q === null ? [] : [q.value, q.lower, q.upper])).filter(Number.isFinite),
  );
  let lo = values.length > 0 ? Math.min(...values) : 0;
  let hi = values.length > 0 ? Math.max(...values) : 1;
  if (hi - lo < 1e-9) [lo, hi] = [lo - 0.05, hi + 0.05];
  const pad = (hi - lo) * 0.05;
  [lo, hi] = [lo - pad, hi + pad];
  const n = p.xLabels.length;
  const px = (i: number) => x0 + m.left + (n === 1 ? pw / 2 : (i / (n - 1)) * pw * 0.9 + pw * 0.05);
  const py = (v: number) => m.top + (1 - (v - lo) / (hi - lo)) * ph;
  const parts: string[] = [];
  for (let t = 0; t <= 4; t++) {
    const v = lo + ((hi - lo) * t) / 4;
    parts.push(`<line x1="${x0 + m.left}" y1="${f(py(v))}" x2="${x0 + m.left + pw}" y2="${f(py(v))}" stroke="#ddd"/>`);
    parts.push(`<text x="${x0 + m.left - 6}" y="${f(py(v) + 4)}" text-anchor="end">${v.toFixed(3)}</text>`);
  }
  p.xLabels.forEach((label, i) => {
    parts.push(`<text x="${f(px(i))}" y="${m.top + ph + 16}" text-anchor="middle">${escapeXml(label)}</text>`);
  });
  parts.push(`<rect x="${x0 + m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  p.series.forEach((s, k) => {
    const color = PALETTE[k % PALETTE.length]!;
    const dash = k >= PALETTE.length ? ' stroke-dasharray="5 3"' : '';
    const g: string[] = [];
    const pts: string[] = [];
    s.points.forEach((q, i) => {
      if (q === null || !Number.isFinite(q.value)) return;
      pts.push(`${f(px(i))},${f(py(q.value))}`);
      if (Number.isFinite(q.lower) && Number.isFinite(q.upper)) {
        g.push(
          `<line x1="${f(px(i))}" y1="${f(py(q.lower))}" x2="${f(px(i))}" y2="${f(py(q.upper))}" stroke="${color}"/>`,
        );
      }
      g.push(`<circle cx="${f(px(i))}" cy="${f(py(q.value))}" r="2.5" fill="${color}"/>`);
    });
    parts.push(`<g class="series" data-label="${escapeXml(s.label)}">`);
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5"${dash} points="${pts.join(' ')}"/>`);
    parts.push(...g, '</g>');
    const ly = m.top + ph + 44 + LEGEND_ROW * k;
    parts.push(
      `<line x1="${x0 + m.left + 8}" y1="${ly}" x2="${x0 + m.left + 26}" y2="${ly}" ` +
        `stroke="${color}" stroke-width="2"${dash}/>`,
    );
    parts.push(`<text x="${x0 + m.left + 30}" y="${ly + 4}">${escapeXml(s.label)}</text>`);
  });
  parts.push(`<text x="${f(x0 + m.left + pw / 2)}" y="${m.top + ph + 30}" text-anchor="middle">ε (DP-SGD)</text>`);
  const cy = m.top + ph / 2;
  parts.push(
    `<text x="${x0 + 14}" y="${f(cy)}" text-anchor="middle" ` +
      `transform="rotate(-90 ${x0 + 14} ${f(cy)})">${escapeXml(p.yLabel)}</text>`,
  );
  parts.push(`<text x="${f(x0 + width / 2)}" y="22" text-anchor="middle" font-size="14">${escapeXml(p.title)}</text>`);
  return parts;
}

/** The panels side by side (each 420 wide, the legends below the plots) as one SVG document. */
export function fairnessSvg(panels: readonly PlotPanel[]): string {
  const rows = Math.max(1, ...panels.map((p) => p.series.length));
  const [w, h] = [420, 330 + rows * LEGEND_ROW];
  const width = w * Math.max(1, panels.length);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}" viewBox="0 0 ${width} ${h}" ` +
      'font-family="sans-serif" font-size="11">',
    `<rect width="${width}" height="${h}" fill="white"/>`,
  ];
  panels.forEach((p, i) => {
    parts.push(`<g class="panel" data-title="${escapeXml(p.title)}">`, ...panelSvg(p, i * w, w, h, rows), '</g>');
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
