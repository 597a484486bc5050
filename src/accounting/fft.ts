// A small, exact-enough FFT for the PLD accountant: iterative radix-2 complex FFT on split
// Float64Arrays, and the real-input transform of size N computed with one complex FFT of size N/2
// (the standard "pack even/odd samples" trick). Sizes are powers of two.
//
// Why our own and not a package: the PLD accountant needs only power-of-two real transforms in
// float64, the code is ~150 lines, fully tested against a naive DFT, and it keeps the package free
// of a runtime dependency for a pure-math module. Twiddles are computed directly with cos/sin per
// index (no recurrence), so the error stays ~ε·log2(N).

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

interface Plan {
  n: number;
  cos: Float64Array; // cos(2πk/n), k < n/2
  sin: Float64Array; // sin(2πk/n)
  rev: Uint32Array;
}

const plans = new Map<number, Plan>();

function plan(n: number): Plan {
  let p = plans.get(n);
  if (p) return p;
  const half = n >> 1;
  const cos = new Float64Array(Math.max(half, 1));
  const sin = new Float64Array(Math.max(half, 1));
  for (let k = 0; k < half; k++) {
    cos[k] = Math.cos((2 * Math.PI * k) / n);
    sin[k] = Math.sin((2 * Math.PI * k) / n);
  }
  const rev = new Uint32Array(n);
  let bits = 0;
  while (1 << bits < n) bits++;
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0, x = i; b < bits; b++, x >>= 1) r = (r << 1) | (x & 1);
    rev[i] = r;
  }
  p = { n, cos, sin, rev };
  if (plans.size > 16) plans.clear();
  plans.set(n, p);
  return p;
}

/**
 * In-place complex DFT of (re, im), length a power of two.
 * Forward: X_k = Σ x_j e^{−2πi jk/n}. Inverse (inverse = true) uses e^{+2πi jk/n} and divides by n.
 */
export function fft(re: Float64Array, im: Float64Array, inverse = false): void {
  const n = re.length;
  if (im.length !== n || !isPowerOfTwo(n)) throw new RangeError(`fft: length must be a power of two, received ${n}`);
  if (n === 1) return;
  const { cos, sin, rev } = plan(n);
  for (let i = 0; i < n; i++) {
    const j = rev[i] as number;
    if (j > i) {
      const tr = re[i] as number;
      re[i] = re[j] as number;
      re[j] = tr;
      const ti = im[i] as number;
      im[i] = im[j] as number;
      im[j] = ti;
    }
  }
  const s = inverse ? 1 : -1;
  for (let size = 2; size <= n; size <<= 1) {
    const halfSize = size >> 1;
    const step = n / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0, t = 0; k < halfSize; k++, t += step) {
        const wr = cos[t] as number;
        const wi = s * (sin[t] as number);
        const a = start + k;
        const b = a + halfSize;
        const br = re[b] as number;
        const bi = im[b] as number;
        const xr = br * wr - bi * wi;
        const xi = br * wi + bi * wr;
        const ar = re[a] as number;
        const ai = im[a] as number;
        re[a] = ar + xr;
        im[a] = ai + xi;
        re[b] = ar - xr;
        im[b] = ai - xi;
      }
    }
  }
  if (inverse) {
    const inv = 1 / n;
    for (let i = 0; i < n; i++) {
      re[i] = (re[i] as number) * inv;
      im[i] = (im[i] as number) * inv;
    }
  }
}

/**
 * DFT of a real sequence x of length n (power of two, ≥ 2): returns the half spectrum X_0..X_{n/2}
 * (n/2 + 1 complex values); the rest is the conjugate mirror.
 */
export function rfft(x: Float64Array): { re: Float64Array; im: Float64Array } {
  const n = x.length;
  if (!isPowerOfTwo(n) || n < 2) throw new RangeError(`rfft: length must be a power of two >= 2, received ${n}`);
  const h = n >> 1;
  const zr = new Float64Array(h);
  const zi = new Float64Array(h);
  for (let k = 0; k < h; k++) {
    zr[k] = x[2 * k] as number;
    zi[k] = x[2 * k + 1] as number;
  }
  fft(zr, zi);
  const { cos, sin } = plan(n);
  const re = new Float64Array(h + 1);
  const im = new Float64Array(h + 1);
  // X_k = E_k + e^{−2πik/n} O_k with E_k = (Z_k + conj Z_{h−k})/2, O_k = (Z_k − conj Z_{h−k})/(2i).
  for (let k = 0; k <= h; k++) {
    const a = k % h;
    const b = (h - k) % h;
    const zar = zr[a] as number;
    const zai = zi[a] as number;
    const zbr = zr[b] as number;
    const zbi = -(zi[b] as number);
    const er = 0.5 * (zar + zbr);
    const ei = 0.5 * (zai + zbi);
    // (Z_a − conj Z_b)/(2i) = (dr + i di)/(2i) = (di − i dr)/2
    const dr = zar - zbr;
    const di = zai - zbi;
    const or = 0.5 * di;
    const oi = -0.5 * dr;
    const c = k < h ? (cos[k] as number) : -1;
    const s = k < h ? -(sin[k] as number) : 0;
    re[k] = er + (or * c - oi * s);
    im[k] = ei + (or * s + oi * c);
  }
  return { re, im };
}

/** Inverse of rfft: from the half spectrum (n/2 + 1 values) to the real sequence of length n. */
export function irfft(re: Float64Array, im: Float64Array, n: number): Float64Array {
  const h = n >> 1;
  if (!isPowerOfTwo(n) || n < 2 || re.length !== h + 1 || im.length !== h + 1) {
    throw new RangeError(
      `irfft: spectrum must have n/2 + 1 bins for a power-of-two n, received ${re.length} for n = ${n}`,
    );
  }
  const { cos, sin } = plan(n);
  const zr = new Float64Array(h);
  const zi = new Float64Array(h);
  // E_k = (X_k + conj X_{h−k})/2, O_k = (X_k − conj X_{h−k})·e^{+2πik/n}/2, Z_k = E_k + i O_k.
  for (let k = 0; k < h; k++) {
    const xar = re[k] as number;
    const xai = im[k] as number;
    const xbr = re[h - k] as number;
    const xbi = -(im[h - k] as number);
    const er = 0.5 * (xar + xbr);
    const ei = 0.5 * (xai + xbi);
    const dr = 0.5 * (xar - xbr);
    const di = 0.5 * (xai - xbi);
    const c = cos[k] as number;
    const s = sin[k] as number;
    const or = dr * c - di * s;
    const oi = dr * s + di * c;
    zr[k] = er - oi;
    zi[k] = ei + or;
  }
  fft(zr, zi, true);
  const out = new Float64Array(n);
  for (let k = 0; k < h; k++) {
    out[2 * k] = zr[k] as number;
    out[2 * k + 1] = zi[k] as number;
  }
  return out;
}
