// Joins the TypeScript rows with the C++ harness rows on (kernel, shape), derives GB/s, % of the
// probe bandwidth and the ratios, and renders the table and the JSON document.
import type { HarnessReport, HarnessRow, PoolSample, ProbeSample } from './harness.js';
import type { MachineInfo } from './machine.js';
import { SMALL_CALL_SHAPES } from './grid.js';
import { memoryModeOf, type RunMemoryMode } from './memory-mode.js';
import type { TsRow } from './suite.js';

export interface SectionRow {
  name: string;
  medianMs: number;
  detail?: string;
  /** The section's own measurements behind detail, for scripts reading the JSON. */
  values?: Record<string, number>;
}

export interface KernelResult {
  kernel: string;
  shape: string;
  /** Bytes the core's passes move per call / bytes any implementation must move. */
  bytes: number;
  minBytes: number;
  /** Gaussian samples per call (noise only, else 0). */
  items: number;
  /** Memory one call touches (see bytes.ts). */
  workingSet: number | null;
  /** The working set fits in the last-level cache: repeated calls may be served from it. */
  fitsLlc: boolean;
  /** The public TypeScript API (preallocated outputs). */
  apiMs: number | null;
  /** The kernel called from C++ (bench/cpp). */
  cppMs: number | null;
  /** Single-threaded scalar C++ loop. */
  scalarCppMs: number | null;
  /** Plain TypeScript loop. */
  tsMs: number | null;
  apiGBps: number | null;
  cppGBps: number | null;
  /** Against the best probe sample of the run. */
  apiPctProbe: number | null;
  cppPctProbe: number | null;
  /** The probe sampled by the C++ harness just before this shape. */
  localProbeGBps: number | null;
  samplesPerSec: number | null;
  /** scalar C++ time / C++ kernel time. */
  speedupVsScalarCpp: number | null;
  /** plain TypeScript time / API time. */
  speedupVsTs: number | null;
  // Cold calls (the first after an idle period, see timeCold in timing.ts): median ms and the
  // ratio cold / warm median. Absent in documents written before issue 18.
  apiColdMs?: number | null;
  cppColdMs?: number | null;
  apiColdRatio?: number | null;
  cppColdRatio?: number | null;
  /** The memory mode of the probe sampled before this shape (memory-mode.ts). */
  memoryMode?: string | null;
  /** The pool on the C++ calls, warm and cold (why a cold call was slow); absent before issue 18. */
  cppPool?: { warm: PoolSample; cold: PoolSample } | null;
}

export interface CallOverhead {
  kernel: string;
  shape: string;
  apiUs: number;
  apiAllocUs: number | null;
  /** The ...Async form: a Promise, an AsyncWorker on the libuv pool, and the settle. */
  apiAsyncUs: number | null;
  cppUs: number;
  /** apiUs − cppUs: what the JS → N-API → core path adds to one small synchronous call. */
  overheadUs: number;
}

/** One kernel timed from C++ under an ISA other than the active one (--isa-sweep). */
export interface IsaVariant {
  kernel: string;
  shape: string;
  isa: string;
  cppMs: number;
  cppGBps: number;
  cppPctProbe: number | null;
  samplesPerSec: number | null;
  /** This variant's time / the active ISA's time (above 1: slower than the active one). */
  vsActive: number | null;
}

export interface BenchDocument {
  schema: 1;
  date: string;
  options: {
    quick: boolean;
    filter: string | null;
    baselines: boolean;
    isaSweep: boolean;
    timeMs: number | null;
    probeMib: number | null;
    /** Cold calls per case and the idle wait before each (absent before issue 18). */
    cold?: { samples: number; idleMs: number };
  };
  machine: MachineInfo;
  probe: { bestGBps: number; samples: ProbeSample[] } | null;
  /** The memory mode of the run (memory-mode.ts); absent before issue 18 (render derives it). */
  memoryMode?: RunMemoryMode | null;
  results: KernelResult[];
  callOverhead: CallOverhead[];
  isaSweep: IsaVariant[];
  /** accounting, dpsgd and fl rows (absent when filtered out). */
  sections: Partial<
    Record<'accounting' | 'dpsgd' | 'fl' | 'blocks' | 'secagg' | 'serve', SectionRow[] | { error: string }>
  >;
  checksum: number;
  /** Every timing as measured (median, min, reps) on both sides, for re-analysis. */
  raw: { ts: TsRow[]; cpp: HarnessRow[] };
}

const gbps = (bytes: number, ms: number | null) => (ms === null ? null : bytes / (ms * 1e-3) / 1e9);
const ratio = (a: number | null, b: number | null) => (a === null || b === null ? null : a / b);

function poolOf(row: HarnessRow | undefined): KernelResult['cppPool'] {
  return row?.warmPool === undefined || row.coldPool === undefined ? null : { warm: row.warmPool, cold: row.coldPool };
}

export function mergeResults(ts: TsRow[], cpp: HarnessReport | null): KernelResult[] {
  const keys = new Map<string, { kernel: string; shape: string }>();
  for (const r of [...ts, ...(cpp?.results ?? [])])
    keys.set(`${r.kernel} ${r.shape}`, { kernel: r.kernel, shape: r.shape });
  const probe = cpp?.probe.bestGBps ?? null;
  const llc = cpp?.machine.llcBytes ?? 0;
  const out: KernelResult[] = [];
  for (const { kernel, shape } of keys.values()) {
    const t = (impl: string) => ts.find((r) => r.kernel === kernel && r.shape === shape && r.impl === impl);
    const c = (impl: string): HarnessRow | undefined =>
      cpp?.results.find((r) => r.kernel === kernel && r.shape === shape && r.impl === impl);
    const model = t('api') ?? t('ts') ?? c('dpfl') ?? c('scalar');
    if (model === undefined) continue;
    const ws = (t('api') ?? t('ts'))?.workingSet ?? null; // the C++ rows do not carry it
    const apiMs = t('api')?.medianMs ?? null;
    const cppMs = c('dpfl')?.medianMs ?? null;
    const apiGBps = gbps(model.bytes, apiMs);
    const cppGBps = gbps(model.bytes, cppMs);
    out.push({
      kernel,
      shape,
      bytes: model.bytes,
      minBytes: model.minBytes,
      items: model.items,
      workingSet: ws,
      fitsLlc: llc > 0 && ws !== null && ws <= llc,
      apiMs,
      cppMs,
      scalarCppMs: c('scalar')?.medianMs ?? null,
      tsMs: t('ts')?.medianMs ?? null,
      apiGBps,
      cppGBps,
      apiPctProbe: probe === null || apiGBps === null ? null : (100 * apiGBps) / probe,
      cppPctProbe: probe === null || cppGBps === null ? null : (100 * cppGBps) / probe,
      localProbeGBps: c('dpfl')?.localProbeGBps ?? null,
      samplesPerSec: model.items > 0 && apiMs !== null ? model.items / (apiMs * 1e-3) : null,
      speedupVsScalarCpp: ratio(c('scalar')?.medianMs ?? null, cppMs),
      speedupVsTs: ratio(t('ts')?.medianMs ?? null, apiMs),
      apiColdMs: t('api')?.cold?.medianMs ?? null,
      cppColdMs: c('dpfl')?.cold?.medianMs ?? null,
      apiColdRatio: ratio(t('api')?.cold?.medianMs ?? null, apiMs),
      cppColdRatio: ratio(c('dpfl')?.cold?.medianMs ?? null, cppMs),
      memoryMode: c('dpfl') === undefined ? null : memoryModeOf(c('dpfl')!.localProbeGBps),
      cppPool: poolOf(c('dpfl')),
    });
  }
  return out;
}

export function isaVariants(cpp: HarnessReport | null): IsaVariant[] {
  if (cpp === null) return [];
  const probe = cpp.probe.bestGBps;
  return cpp.results
    .filter((r) => r.impl.startsWith('dpfl-'))
    .map((r) => {
      const active = cpp.results.find((a) => a.kernel === r.kernel && a.shape === r.shape && a.impl === 'dpfl');
      const g = r.bytes / (r.medianMs * 1e-3) / 1e9;
      return {
        kernel: r.kernel,
        shape: r.shape,
        isa: r.impl.slice('dpfl-'.length),
        cppMs: r.medianMs,
        cppGBps: g,
        cppPctProbe: probe > 0 ? (100 * g) / probe : null,
        samplesPerSec: r.items > 0 ? r.items / (r.medianMs * 1e-3) : null,
        vsActive: active === undefined ? null : r.medianMs / active.medianMs,
      };
    });
}

export function callOverheads(ts: TsRow[], cpp: HarnessReport | null): CallOverhead[] {
  const out: CallOverhead[] = [];
  for (const [kernel, shape] of SMALL_CALL_SHAPES) {
    const api = ts.find((r) => r.kernel === kernel && r.shape === shape && r.impl === 'api');
    const alloc = ts.find((r) => r.kernel === kernel && r.shape === shape && r.impl === 'api-alloc');
    const async = ts.find((r) => r.kernel === kernel && r.shape === shape && r.impl === 'api-async');
    const c = cpp?.results.find((r) => r.kernel === kernel && r.shape === shape && r.impl === 'dpfl');
    if (api === undefined || c === undefined) continue;
    out.push({
      kernel,
      shape,
      apiUs: api.medianMs * 1e3,
      apiAllocUs: alloc === undefined ? null : alloc.medianMs * 1e3,
      apiAsyncUs: async === undefined ? null : async.medianMs * 1e3,
      cppUs: c.medianMs * 1e3,
      overheadUs: (api.medianMs - c.medianMs) * 1e3,
    });
  }
  return out;
}
