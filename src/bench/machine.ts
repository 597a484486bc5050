// The machine a result was measured on, recorded with every JSON result.
import { availableParallelism, cpus, platform, arch, totalmem, release, loadavg } from 'node:os';
import { info } from '../kernels/info.js';

export interface MachineInfo {
  cpuModel: string;
  logicalCpus: number;
  totalMemoryGiB: number;
  os: string;
  node: string;
  backend: string;
  isa: string;
  threads: number;
  napiVersion: number;
  llcBytes: number | null;
  /** ISA and threads of the core as linked into the C++ harness (the addon may differ, e.g. a prebuild). */
  harness: { isa: string; threads: number } | null;
  env: { DPFL_THREADS: string | null; DPFL_ISA: string | null };
  /**
   * 1-minute load average when the bench started and when it ended. Above a fraction of the CPU
   * count, other processes competed for the cores and the memory bus during the run.
   */
  loadAverage: { start: number; end: number };
}

/** Read when the bench starts, before it loads the machine itself. */
export const loadAtStart = loadavg()[0] ?? 0;

export function machineInfo(harness: { isa: string; threads: number; llcBytes: number } | null): MachineInfo {
  const core = info();
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    logicalCpus: availableParallelism(),
    totalMemoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()} ${arch()}`,
    node: process.version,
    backend: core.backend,
    isa: core.isa,
    threads: core.threads,
    napiVersion: core.napiVersion,
    llcBytes: harness?.llcBytes ?? null,
    harness: harness === null ? null : { isa: harness.isa, threads: harness.threads },
    env: { DPFL_THREADS: process.env.DPFL_THREADS ?? null, DPFL_ISA: process.env.DPFL_ISA ?? null },
    loadAverage: { start: loadAtStart, end: loadavg()[0] ?? 0 },
  };
}
