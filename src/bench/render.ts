// Renders a bench document as the text table printed by `dpfl bench`, or as Markdown tables
// (`dpfl bench --render FILE --markdown`, for docs/benchmarks.md).
import { describeMemoryMode, runMemoryMode, type RunMemoryMode } from './memory-mode.js';
import type { BenchDocument, KernelResult } from './report.js';

function fmt(x: number | null, digits = 3): string {
  if (x === null || !Number.isFinite(x)) return '-';
  if (x !== 0 && (Math.abs(x) >= 1e5 || Math.abs(x) < 1e-3)) return x.toExponential(2);
  return x.toPrecision(digits);
}
const pct = (x: number | null) => (x === null ? '-' : `${x.toFixed(0)}%`);
const times = (x: number | null | undefined) => (x == null ? '-' : `${x.toFixed(1)}x`);
const coldRatio = (x: number | null | undefined) => (x == null ? '-' : x.toFixed(2));

/** The run's memory mode: recorded since issue 18, derived from the probe samples for older documents. */
function modeOf(doc: BenchDocument): RunMemoryMode | null {
  return doc.memoryMode ?? runMemoryMode(doc.probe?.samples ?? []);
}

/** What "cold" means in this document, or null when it has no cold calls. */
function coldLegend(doc: BenchDocument): string | null {
  const c = doc.options.cold;
  if (c === undefined || c.samples === 0) return null;
  return (
    `cold = the first call after ${c.idleMs} ms idle (inputs resident, same outputs; accumulator_add: a fresh ` +
    `aggregator), median of ${c.samples}; cold/warm = cold median / warm median`
  );
}

const POOL_HEADER = ['regions', 'join us warm', 'join us cold', 'caller warm', 'caller cold'];
function poolCells(r: KernelResult): string[] {
  const p = r.cppPool!;
  return [
    String(p.cold.regions),
    fmt(p.warm.workerJoinMaxUs),
    fmt(p.cold.workerJoinMaxUs),
    pct(100 * p.warm.callerShare),
    pct(100 * p.cold.callerShare),
  ];
}

/** The note column: fits the LLC, and the shape's memory mode when it is not the run's. */
function note(r: KernelResult, run: RunMemoryMode | null): string {
  const notes = r.fitsLlc ? ['<=LLC'] : [];
  const kind = (label: string) => label.replace(/ \(.*\)$/, ''); // 'other (27 GB/s)' and 'other (26 GB/s)' agree
  if (r.memoryMode != null && run !== null && kind(r.memoryMode) !== kind(run.label))
    notes.push(`mode ${r.memoryMode}`);
  return notes.join(', ');
}

function markdownTable(header: string[], rows: string[][]): string {
  const line = (r: string[]) => `| ${r.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i < 2 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((s, i) => (i < 2 ? s.padEnd(widths[i]!) : s.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The results and the small-call overheads as Markdown tables (for docs/benchmarks.md). */
export function renderMarkdown(doc: BenchDocument): string {
  const header = [
    'kernel',
    'shape',
    'API ms',
    'GB/s',
    '% probe',
    'C++ ms',
    'C++ % probe',
    'probe@shape GB/s',
    'samples/s',
    '× scalar C++',
    '× TS',
    'API cold ms',
    'API cold/warm',
    'C++ cold/warm',
    '',
  ];
  const run = modeOf(doc);
  const rows = doc.results.map((r) => [
    r.kernel,
    r.shape,
    fmt(r.apiMs, 4),
    fmt(r.apiGBps),
    pct(r.apiPctProbe),
    fmt(r.cppMs, 4),
    pct(r.cppPctProbe),
    fmt(r.localProbeGBps),
    fmt(r.samplesPerSec),
    times(r.speedupVsScalarCpp),
    times(r.speedupVsTs),
    fmt(r.apiColdMs ?? null, 4),
    coldRatio(r.apiColdRatio),
    coldRatio(r.cppColdRatio),
    note(r, run).replace('<=LLC', '≤ LLC'),
  ]);
  const legend = [describeMemoryMode(run), coldLegend(doc)].filter((l) => l !== null).join('; ');
  const overhead = markdownTable(
    ['kernel', 'shape', 'API µs', 'API µs, outputs allocated', 'async API µs', 'C++ µs', 'overhead µs'],
    doc.callOverhead.map((o) => [
      o.kernel,
      o.shape,
      fmt(o.apiUs),
      fmt(o.apiAllocUs),
      fmt(o.apiAsyncUs),
      fmt(o.cppUs),
      fmt(o.overheadUs),
    ]),
  );
  const sweep =
    (doc.isaSweep ?? []).length === 0
      ? ''
      : `\n\n${markdownTable(
          ['kernel', 'shape', 'isa', 'C++ ms', 'GB/s', '% probe', 'samples/s', '× active ISA time'],
          doc.isaSweep.map((v) => [
            v.kernel,
            v.shape,
            v.isa,
            fmt(v.cppMs, 4),
            fmt(v.cppGBps),
            pct(v.cppPctProbe),
            fmt(v.samplesPerSec),
            times(v.vsActive),
          ]),
        )}`;
  return `${legend}.\n\n${markdownTable(header, rows)}\n\n${overhead}${sweep}`;
}

export function renderText(doc: BenchDocument): string {
  const m = doc.machine;
  const lines: string[] = [];
  lines.push(`dpfl bench  ${doc.date}  ${m.cpuModel}, ${m.logicalCpus} CPUs, ${m.totalMemoryGiB} GiB  node ${m.node}`);
  const h = m.harness ?? null; // absent in documents written before it was recorded
  const harness =
    h === null || (h.isa === m.isa && h.threads === m.threads) ? '' : ` (C++ harness: ${h.isa}, ${h.threads} threads)`;
  const llc = m.llcBytes ? `, LLC ${(m.llcBytes / 2 ** 20).toFixed(0)} MiB` : '';
  lines.push(`core: ${m.backend} ${m.isa}, ${m.threads} threads${harness}${llc}`);
  const load = m.loadAverage; // absent in documents written before it was recorded
  if (load !== undefined && load.start > 0.5) {
    lines.push(
      `warning: load average ${load.start.toFixed(1)} at the start (${load.end.toFixed(1)} at the end): other processes competed for this machine`,
    );
  }
  if (doc.probe !== null) {
    const s = doc.probe.samples;
    const first = s[0]?.bestGBps ?? 0;
    const last = s[s.length - 1]?.bestGBps ?? 0;
    const min = Math.min(...s.map((p) => p.bestGBps));
    lines.push(
      `read probe: best ${doc.probe.bestGBps.toFixed(1)} GB/s (start ${first.toFixed(1)}, end ${last.toFixed(1)}, lowest ${min.toFixed(1)}; ` +
        `${s.length} samples of ${((s[0]?.bytes ?? 0) / 2 ** 20).toFixed(0)} MiB)`,
    );
  } else {
    lines.push('read probe: not run (--no-cpp), so no % of probe');
  }
  const run = modeOf(doc);
  lines.push(describeMemoryMode(run));
  const legend = coldLegend(doc);
  if (legend !== null) lines.push(legend);
  lines.push('');
  const header = [
    'kernel',
    'shape',
    'API ms',
    'GB/s',
    '%probe',
    'C++ ms',
    'C++ GB/s',
    '%probe',
    'probe@shape',
    'samples/s',
    'x scalar C++',
    'x TS',
    'API cold ms',
    'cold/warm',
    'C++ cold/warm',
    'note',
  ];
  const rows = doc.results.map((r) => [
    r.kernel,
    r.shape,
    fmt(r.apiMs, 4),
    fmt(r.apiGBps),
    pct(r.apiPctProbe),
    fmt(r.cppMs, 4),
    fmt(r.cppGBps),
    pct(r.cppPctProbe),
    fmt(r.localProbeGBps),
    fmt(r.samplesPerSec),
    times(r.speedupVsScalarCpp),
    times(r.speedupVsTs),
    fmt(r.apiColdMs ?? null, 4),
    coldRatio(r.apiColdRatio),
    coldRatio(r.cppColdRatio),
    note(r, run),
  ]);
  lines.push(table(header, rows));
  if (doc.callOverhead.length > 0) {
    lines.push('', 'small-call overhead (median of one synchronous call, public API vs the same kernel from C++):');
    lines.push(
      table(
        ['kernel', 'shape', 'API us', 'API us (outputs allocated)', 'async API us', 'C++ us', 'overhead us'],
        doc.callOverhead.map((o) => [
          o.kernel,
          o.shape,
          fmt(o.apiUs),
          fmt(o.apiAllocUs),
          fmt(o.apiAsyncUs),
          fmt(o.cppUs),
          fmt(o.overheadUs),
        ]),
      ),
    );
  }
  const pooled = doc.results.filter((r) => r.cppPool != null && r.cppPool.warm.regions + r.cppPool.cold.regions > 0);
  if (pooled.length > 0) {
    lines.push(
      '',
      'thread pool on the C++ calls (join = longest wait for a worker to take up a region; caller = share of chunks the calling thread ran):',
    );
    lines.push(
      table(
        ['kernel', 'shape', ...POOL_HEADER],
        pooled.map((r) => [r.kernel, r.shape, ...poolCells(r)]),
      ),
    );
  }
  if ((doc.isaSweep ?? []).length > 0) {
    lines.push('', 'ISA variants (C++ harness, --isa-sweep; x active = time / time with the active ISA):');
    lines.push(
      table(
        ['kernel', 'shape', 'isa', 'C++ ms', 'GB/s', '%probe', 'samples/s', 'x active'],
        doc.isaSweep.map((v) => [
          v.kernel,
          v.shape,
          v.isa,
          fmt(v.cppMs, 4),
          fmt(v.cppGBps),
          pct(v.cppPctProbe),
          fmt(v.samplesPerSec),
          times(v.vsActive),
        ]),
      ),
    );
  }
  for (const [name, rows] of Object.entries(doc.sections ?? {})) {
    lines.push('', `${name}:`);
    if ('error' in rows) {
      lines.push(`  failed: ${rows.error}`);
    } else {
      lines.push(
        table(
          ['name', '', 'median ms', 'detail'],
          rows.map((a) => [a.name, '', fmt(a.medianMs, 4), a.detail ?? '']),
        ),
      );
    }
  }
  return lines.join('\n');
}
