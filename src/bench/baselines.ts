// Plain TypeScript baselines: each kernel as the straightforward loop a TypeScript programmer
// would write, float64 accumulation over the Float32Arrays, single-threaded, no native code.
import { randomFillSync } from 'node:crypto';

/** Row by row: the row's group norms, then acc += scale · row; sum = acc rounded to float32. */
export function tsClipAndSum(
  grads: Float32Array,
  batch: number,
  dim: number,
  ends: number[],
  maxNorms: number[],
  acc: Float64Array,
  sum: Float32Array,
  norms: Float32Array,
): void {
  acc.fill(0);
  for (let b = 0; b < batch; b++) {
    const off = b * dim;
    let total = 0;
    for (let g = 0, c0 = 0; g < ends.length; c0 = ends[g]!, g++) {
      const c1 = ends[g]!;
      let sq = 0;
      for (let c = c0; c < c1; c++) {
        const v = grads[off + c]!;
        sq += v * v;
      }
      total += sq;
      const scale = Math.min(1, maxNorms[g]! / (Math.sqrt(sq) + 1e-6));
      for (let c = c0; c < c1; c++) acc[c]! += scale * grads[off + c]!;
    }
    norms[b] = Math.sqrt(total);
  }
  for (let d = 0; d < dim; d++) sum[d] = acc[d]!;
}

/**
 * x[i] += std · z_i, textbook Box-Muller (Math.log, Math.cos, Math.sin) on a xorshift32 generator.
 * Not Philox (TypeScript has no cheap 64-bit multiply): a cheaper generator than the kernel's, so
 * the ratio against it understates the kernel's advantage.
 */
export function tsNoiseFast(x: Float32Array, std: number, seed: number): void {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) + 0.5) / 4294967296;
  };
  for (let i = 0; i < x.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(next()));
    const t = 2 * Math.PI * next();
    x[i] = x[i]! + std * r * Math.cos(t);
    if (i + 1 < x.length) x[i + 1] = x[i + 1]! + std * r * Math.sin(t);
  }
}

const SECURE_WORDS = 1 << 14;

/**
 * The secure sampler in plain TypeScript: 32-bit words from the OS CSPRNG (crypto.randomFillSync),
 * 52-bit uniforms, Box-Muller, and each output (z_a + z_b) / sqrt(2) as in Holohan and Braghin.
 */
export function tsNoiseSecure(x: Float32Array, std: number): void {
  const words = new Uint32Array(SECURE_WORDS);
  let w = SECURE_WORDS;
  const uniform = () => {
    if (w + 2 > SECURE_WORDS) {
      randomFillSync(words);
      w = 0;
    }
    const hi = words[w++]!;
    const lo = words[w++]!;
    return (hi * 1048576 + (lo >>> 12) + 0.5) * 2 ** -52;
  };
  const k = Math.SQRT1_2;
  for (let i = 0; i < x.length; i += 2) {
    const r1 = Math.sqrt(-2 * Math.log(uniform()));
    const t1 = 2 * Math.PI * uniform();
    const r2 = Math.sqrt(-2 * Math.log(uniform()));
    const t2 = 2 * Math.PI * uniform();
    x[i] = x[i]! + std * (r1 * Math.cos(t1) + r2 * Math.cos(t2)) * k;
    if (i + 1 < x.length) x[i + 1] = x[i + 1]! + std * (r1 * Math.sin(t1) + r2 * Math.sin(t2)) * k;
  }
}

/** acc += w · u over the whole length (one streaming step). */
export function tsAccumulate(acc: Float64Array, u: Float32Array, offset: number, w: number): void {
  const n = acc.length;
  for (let d = 0; d < n; d++) acc[d]! += w * u[offset + d]!;
}

/** Update by update over the K×D matrix, then out = acc / Σw. */
export function tsWeightedSum(
  updates: Float32Array,
  weights: Float64Array,
  acc: Float64Array,
  out: Float32Array,
): void {
  const dim = acc.length;
  acc.fill(0);
  let total = 0;
  for (let k = 0; k < weights.length; k++) {
    tsAccumulate(acc, updates, k * dim, weights[k]!);
    total += weights[k]!;
  }
  const inv = 1 / total;
  for (let d = 0; d < dim; d++) out[d] = acc[d]! * inv;
}
