// Runs the C++ harness (bench/cpp, CMake target dpfl_bench) and reads its --json output: the
// probe bandwidth and the C++ kernel and scalar-baseline times of the same run. Builds it with
// CMake when the binary is missing.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (this file is dist/bench/harness.js or src/bench/harness.ts). */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ProbeSample {
  /** When it was sampled: "start", "before <shape>", "end". */
  label: string;
  bytes: number;
  threads: number;
  reps: number;
  bestGBps: number;
  medianGBps: number;
}

export interface HarnessRow {
  kernel: string;
  shape: string;
  /** dpfl: the core with its active ISA; dpfl-<isa>: the same under another ISA (--isa-sweep); scalar: baseline. */
  impl: string;
  medianMs: number;
  minMs: number;
  reps: number;
  bytes: number;
  minBytes: number;
  items: number;
  localProbeGBps: number;
  checksum: number;
  /** Cold calls (bench/cpp/timer.h, measure_cold) of impl 'dpfl'; absent before issue 18 or with --cold 0. */
  cold?: { medianMs: number; minMs: number; reps: number; idleMs: number };
  /** The thread pool on one warm call and on the cold calls (median; dpfl::pool_stats), with cold. */
  warmPool?: PoolSample;
  coldPool?: PoolSample;
}

/**
 * What the pool did over one call: parallel regions, the longest wait from a region's start to a
 * worker taking it up (a parked or descheduled worker), and the share of chunks the caller ran.
 */
export interface PoolSample {
  regions: number;
  workerJoinMaxUs: number;
  callerShare: number;
}

export interface HarnessReport {
  harness: 'dpfl_bench';
  schema: number;
  machine: { isa: string; threads: number; llcBytes: number };
  probe: { bestGBps: number; samples: ProbeSample[] };
  results: HarnessRow[];
}

export interface HarnessOptions {
  quick: boolean;
  /** Regular expression on "kernel shape" (the harness's --filter). */
  filter: string | undefined;
  baselines: boolean;
  /** Also time every kernel under each other ISA the CPU supports. */
  isaSweep: boolean;
  buildDir: string;
  /** Probe buffer in MiB (default 2048: far above the last-level cache). */
  probeMib: number | undefined;
  /** Timed passes of the probes at the start and the end of the harness run (default 3 or 5). */
  probeReps?: number;
  /** Time budget per case in ms (default 250 with quick, else 750). */
  timeMs: number | undefined;
  /** Cold calls per kernel case and the idle wait before each (the harness's --cold, --cold-idle-ms). */
  cold?: { samples: number; idleMs: number };
  /** Each stderr line of the harness (its progress). runHarness expects buildHarness to have run. */
  onProgress: (line: string) => void;
}

/** The harness's sources are not there (an installed package ships no bench/): not an error. */
export class HarnessUnavailable extends Error {}

export function harnessPath(buildDir: string): string {
  return join(buildDir, 'bench', 'dpfl_bench');
}

/**
 * Brings the dpfl_bench target up to date (configuring the build directory first when needed), so
 * the C++ numbers always come from the current core sources — an incremental build, about a
 * second when nothing changed. 2 jobs: the machine is shared.
 */
export function buildHarness(buildDir: string, log: (line: string) => void): void {
  if (!existsSync(join(packageRoot, 'bench', 'CMakeLists.txt'))) {
    if (existsSync(harnessPath(buildDir))) return;
    throw new HarnessUnavailable(
      `no C++ harness at ${harnessPath(buildDir)} and no bench/ sources to build it from (a source checkout has them)`,
    );
  }
  const opts = { cwd: packageRoot, stdio: ['ignore', 'ignore', 'inherit'] as ('ignore' | 'inherit')[] };
  if (!existsSync(join(buildDir, 'CMakeCache.txt'))) {
    log(`configuring ${buildDir} (cmake)`);
    execFileSync('cmake', ['-S', '.', '-B', buildDir, '-DCMAKE_BUILD_TYPE=Release'], opts);
  }
  log(`building the C++ harness in ${buildDir} (cmake --build, up to date in a second when nothing changed)`);
  execFileSync('cmake', ['--build', buildDir, '--target', 'dpfl_bench', '-j', '2'], opts);
}

/** Several harness runs (one per shape) as one report: probe samples and rows in run order. */
export function mergeReports(reports: HarnessReport[]): HarnessReport | null {
  const first = reports[0];
  if (first === undefined) return null;
  const samples = reports.flatMap((r) => r.probe.samples);
  return {
    ...first,
    probe: { bestGBps: Math.max(...samples.map((p) => p.bestGBps)), samples },
    results: reports.flatMap((r) => r.results),
  };
}

/** An exact --filter for the given "kernel shape" ids. */
export function exactFilter(ids: string[]): string {
  return `^(${ids.map((id) => id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`;
}

export async function runHarness(o: HarnessOptions): Promise<HarnessReport> {
  const bin = harnessPath(o.buildDir);
  const args = ['--json'];
  if (o.quick) args.push('--quick');
  if (!o.baselines) args.push('--no-baseline');
  if (o.isaSweep) args.push('--isa-sweep');
  if (o.filter !== undefined) args.push('--filter', o.filter);
  if (o.probeMib !== undefined) args.push('--probe-mib', String(o.probeMib));
  if (o.probeReps !== undefined) args.push('--probe-reps', String(o.probeReps));
  if (o.timeMs !== undefined) args.push('--min-time', String(o.timeMs / 1000));
  if (o.cold !== undefined) args.push('--cold', String(o.cold.samples), '--cold-idle-ms', String(o.cold.idleMs));
  const child = spawn(bin, args, { cwd: packageRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let pending = '';
  const last: string[] = []; // the last stderr lines, for the error message
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    pending += s;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      o.onProgress(line.replace(/^dpfl_bench: /, 'C++ '));
      last.push(line);
      if (last.length > 3) last.shift();
    }
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`${bin} exited with ${code}: ${[...last, pending].join(' | ')}`);
  const report = JSON.parse(stdout) as HarnessReport;
  if (report.harness !== 'dpfl_bench' || report.schema !== 1) throw new Error(`${bin}: unexpected output schema`);
  return report;
}
