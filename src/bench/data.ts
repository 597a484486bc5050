// Deterministic benchmark inputs (no Math.random): a block of a prime length from xorshift32,
// tiled over the array, so a 4 GB matrix fills at memcpy speed and rows are not copies of each
// other.

const BLOCK = 1_000_003;

/** A Float32Array of n values uniform in [-1, 1), the same on every run for a given seed. */
export function uniformArray(n: number, seed: number): Float32Array {
  const x = new Float32Array(n);
  const first = Math.min(n, BLOCK);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < first; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    x[i] = (s >>> 0) / 2147483648 - 1;
  }
  for (let i = first; i < n; i += first) x.copyWithin(i, 0, Math.min(first, n - i));
  return x;
}
