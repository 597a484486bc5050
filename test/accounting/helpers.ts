// Test helpers: a seeded generator and a numerical integrator for A_α (the reference for RDP).

/** mulberry32: a small seeded PRNG for reproducible random parameters. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function logAdd(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return Math.max(a, b) + Math.log1p(Math.exp(-Math.abs(a - b)));
}

/**
 * log A_α = log ∫ φ_σ(z)·((1−q) + q·e^{(2z−1)/(2σ²)})^α dz by the trapezoid rule in log space
 * (spectrally accurate for this smooth, fast-decaying integrand), integrating A_α − 1 where that is
 * small so that log A_α keeps relative precision.
 */
export function logAByIntegration(q: number, sigma: number, alpha: number): number {
  const s2 = sigma * sigma;
  const logMix = (z: number) => logAdd(Math.log1p(-q), Math.log(q) + (2 * z - 1) / (2 * s2));
  const logPhi = (z: number) => (-z * z) / (2 * s2) - Math.log(sigma * Math.sqrt(2 * Math.PI));
  const f = (z: number) => logPhi(z) + alpha * logMix(z);
  // The integrand peaks between 0 and about α (the mixture's second component tilted by α).
  const lo = -40 * sigma - 1;
  const hi = Math.max(alpha, 1) + 40 * sigma + 1;
  const h = Math.min(sigma / 200, (hi - lo) / 20000);
  let m = -Infinity;
  for (let z = lo; z <= hi; z += h) m = Math.max(m, f(z));
  if (m < 1e-3) {
    // A_α close to 1: integrate φ·(mix^α − 1) = φ·expm1(α·log mix), in linear space.
    let acc = 0;
    for (let z = lo; z <= hi; z += h) {
      const v = alpha * logMix(z);
      acc += v > 1 ? Math.exp(logPhi(z) + v) - Math.exp(logPhi(z)) : Math.exp(logPhi(z)) * Math.expm1(v);
    }
    return Math.log1p(acc * h);
  }
  let acc = 0;
  for (let z = lo; z <= hi; z += h) acc += Math.exp(f(z) - m);
  return m + Math.log(acc * h);
}
