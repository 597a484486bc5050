// Tolerances of the TypeScript tests, one table: |a − b| ≤ atol + rtol·|ref|.
export const TOL = {
  // Kernels accumulate in float64 and round once to float32 (2^-24 ≈ 6e-8 relative); the issue's
  // bar is 1e-5 relative. atol covers sums that cancel towards zero, whose error is relative to
  // the summands (order 1 here), not to the result.
  sum: { rtol: 1e-5, atol: 1e-6 },
  // A norm is one sqrt of a float64 sum of squares rounded to float32.
  norm: { rtol: 1e-6, atol: 0 },
  // Noise recomputed in JS: Math.log/cos/sin may differ from the C library's by an ulp of float64,
  // which changes the float32 result by at most one float32 ulp (6e-8 relative to values ≤ 9).
  noise: { rtol: 2e-7, atol: 1e-7 },
} as const;

export function close(a: number, ref: number, t: { rtol: number; atol: number }): boolean {
  return Math.abs(a - ref) <= t.atol + t.rtol * Math.abs(ref);
}

/** Index of the first element outside tolerance, or -1. */
export function firstMismatch(
  actual: ArrayLike<number>,
  ref: ArrayLike<number>,
  t: { rtol: number; atol: number },
): number {
  if (actual.length !== ref.length) return 0;
  for (let i = 0; i < ref.length; i++) if (!close(actual[i]!, ref[i]!, t)) return i;
  return -1;
}
