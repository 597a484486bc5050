// Plain float64 TypeScript references for the kernels, written for clarity, not speed.

export const CLIP_EPSILON = 1e-6;

export interface ClipReference {
  sum: Float64Array;
  norms: Float64Array;
  groupNorms: Float64Array;
  clipped: number;
  nonFinite: number;
}

export function clipAndSumRef(g: ArrayLike<number>, batch: number, maxNorms: number[], ends?: number[]): ClipReference {
  const dim = g.length / batch;
  const groupEnds = ends ?? [dim];
  const G = groupEnds.length;
  const sum = new Float64Array(dim);
  const norms = new Float64Array(batch);
  const groupNorms = new Float64Array(batch * G);
  let clipped = 0;
  let nonFinite = 0;
  for (let b = 0; b < batch; b++) {
    const scales: number[] = [];
    let total = 0;
    let begin = 0;
    let finite = true;
    let anyClipped = false;
    groupEnds.forEach((end, k) => {
      let sq = 0;
      for (let d = begin; d < end; d++) sq += g[b * dim + d]! ** 2;
      groupNorms[b * G + k] = Math.sqrt(sq);
      total += sq;
      finite &&= Number.isFinite(sq);
      const s = Math.min(1, maxNorms[k]! / (Math.sqrt(sq) + CLIP_EPSILON));
      anyClipped ||= s < 1;
      scales.push(s);
      begin = end;
    });
    norms[b] = Math.sqrt(total);
    if (!finite) {
      nonFinite++;
      continue;
    }
    if (anyClipped) clipped++;
    begin = 0;
    groupEnds.forEach((end, k) => {
      for (let d = begin; d < end; d++) sum[d]! += scales[k]! * g[b * dim + d]!;
      begin = end;
    });
  }
  return { sum, norms, groupNorms, clipped, nonFinite };
}

export function weightedSumRef(updates: ArrayLike<number>[], weights: number[], normalize: boolean): Float64Array {
  const dim = updates[0]!.length;
  const out = new Float64Array(dim);
  const total = weights.reduce((s, w) => s + w, 0);
  updates.forEach((u, k) => {
    for (let d = 0; d < dim; d++) out[d]! += weights[k]! * u[d]!;
  });
  if (normalize) for (let d = 0; d < dim; d++) out[d]! /= total;
  return out;
}

/** Deterministic test data: normal-ish floats from a seeded xorshift + Box–Muller. */
export function randomFloats(n: number, seed: number, scale = 1): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = scale * Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  return out;
}
