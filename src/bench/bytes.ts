// Bytes each kernel moves per call, from the passes documented in native/include/dpfl/kernels.h
// and native/cpu (the same model as bench/cpp/cases.cpp). `bytes` counts the core's current
// design; `minBytes` what any implementation must move (inputs read once, outputs written once).
// GB/s and % of probe are computed over `bytes`, as issue 3's targets ask ("the bytes each pass
// must read"); JSON carries both. `workingSet` is the memory the call touches: the bench calls a
// kernel again and again on the same data, so when it fits in the last-level cache, repeated
// calls can be served from there and GB/s can exceed the DRAM probe.

export interface ByteModel {
  bytes: number;
  minBytes: number;
  workingSet: number;
}

/** Clipping: pass one reads G for the norms, pass two reads it again for the clipped float64 sum. */
export function clipBytes(batch: number, dim: number, groups: number | null): ByteModel {
  const writes = dim * 4 + batch * 4 + (groups === null ? 0 : batch * groups * 4);
  return {
    bytes: 2 * batch * dim * 4 + writes,
    minBytes: batch * dim * 4 + writes,
    workingSet: batch * dim * 4 + writes,
  };
}

/** Noise in place: a finite check reads x, then the noise pass reads and writes it. */
export function noiseBytes(n: number): ByteModel {
  return { bytes: 3 * n * 4, minBytes: 2 * n * 4, workingSet: n * 4 };
}

/** weightedSum: column tiles with float64 accumulators in L1, each update read once. */
export function weightedSumBytes(count: number, dim: number): ByteModel {
  const b = count * dim * 4 + dim * 4;
  return { bytes: b, minBytes: b, workingSet: b };
}

/**
 * K calls of Aggregator.add: a finite check reads the update, then acc += w·u reads it again and
 * reads and writes the float64 state (D·8 bytes, itself cache-resident for small D).
 */
export function accumulatorBytes(count: number, dim: number): ByteModel {
  return {
    bytes: count * (2 * dim * 4 + 2 * dim * 8),
    minBytes: count * (dim * 4 + 2 * dim * 8),
    workingSet: count * dim * 4 + dim * 8,
  };
}
