// A small seeded generator for simulations (selection, partitions, dropout, local shuffling):
// xoshiro128** (Blackman and Vigna, "Scrambled linear pseudorandom number generators", ACM TOMS
// 2021) seeded through splitmix32. Reproducible, fast, NOT for privacy: DP noise and secure-
// aggregation masks come from the native core's generators, and an unseeded FederatedServer
// selects clients from SecureRandom (src/data/random.ts, the OS CSPRNG).

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Rng {
  #s: Uint32Array;
  #spare: number | undefined;

  /** seed: any safe integer; different seeds give unrelated streams. */
  constructor(seed: number) {
    const st = { s: (seed >>> 0) ^ Math.floor(seed / 2 ** 32) };
    this.#s = Uint32Array.from([splitmix32(st), splitmix32(st), splitmix32(st), splitmix32(st)]);
    if (this.#s.every((v) => v === 0)) this.#s[0] = 1;
  }

  /** A generator for a named sub-task (client k, round t, ...): independent of this one's state. */
  static derive(seed: number, ...path: number[]): Rng {
    let h = seed >>> 0;
    for (const p of path) h = Math.imul(h ^ (p >>> 0), 0x9e3779b1) + 0x7f4a7c15 + (h >>> 7);
    return new Rng((h >>> 0) + 2 ** 32 * ((seed / 2 ** 32) >>> 0));
  }

  /** A uniform 32-bit integer. */
  nextU32(): number {
    const s = this.#s;
    let s0 = s[0]!;
    let s1 = s[1]!;
    let s2 = s[2]!;
    let s3 = s[3]!;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    s[0] = s0;
    s[1] = s1;
    s[2] = s2;
    s[3] = s3;
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    return ((this.nextU32() >>> 5) * 67108864 + (this.nextU32() >>> 6)) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return intFrom(n, this);
  }

  /** Standard normal (Marsaglia's polar method). */
  normal(): number {
    if (this.#spare !== undefined) {
      const v = this.#spare;
      this.#spare = undefined;
      return v;
    }
    for (;;) {
      const u = 2 * this.next() - 1;
      const v = 2 * this.next() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const f = Math.sqrt((-2 * Math.log(s)) / s);
        this.#spare = v * f;
        return u * f;
      }
    }
  }

  /** Gamma(shape, 1) by Marsaglia and Tsang (ACM TOMS 2000), with the shape < 1 boost. */
  gamma(shape: number): number {
    if (shape < 1) return this.gamma(shape + 1) * Math.pow(1 - this.next(), 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.next();
      if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** Dirichlet(alpha): normalised independent Gamma(alpha_i) draws. */
  dirichlet(alpha: ArrayLike<number>): Float64Array {
    const g = Float64Array.from({ length: alpha.length }, (_, i) => (alpha[i]! > 0 ? this.gamma(alpha[i]!) : 0));
    let sum = g.reduce((s, v) => s + v, 0);
    if (!(sum > 0)) {
      // Every gamma draw underflowed (tiny alphas): fall back to one category, chosen by alpha.
      const i = this.categorical(alpha);
      g.fill(0);
      g[i] = 1;
      sum = 1;
    }
    return g.map((v) => v / sum);
  }

  /** An index drawn with probability proportional to weights[i] (weights ≥ 0, positive sum). */
  categorical(weights: ArrayLike<number>): number {
    return categoricalFrom(weights, this);
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(a: T[] | Int32Array | Uint32Array): void {
    shuffleFrom(a, this);
  }
}

/** A source of uniforms in [0, 1): an Rng, or SecureRandom (the OS CSPRNG) where selection must be secret. */
export interface UniformSource {
  next(): number;
}

/** Uniform integer in [0, n) from any source. */
export function intFrom(n: number, source: UniformSource): number {
  return Math.floor(source.next() * n);
}

/** An index drawn with probability proportional to weights[i] from any source (weights ≥ 0, positive sum). */
export function categoricalFrom(weights: ArrayLike<number>, source: UniformSource): number {
  let total = 0;
  for (let i = 0; i < weights.length; i++) total += weights[i]!;
  let u = source.next() * total;
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i]!;
    if (u < 0) return i;
  }
  for (let i = weights.length - 1; i >= 0; i--) if (weights[i]! > 0) return i;
  return weights.length - 1;
}

/** Fisher–Yates shuffle in place from any source. */
export function shuffleFrom<T>(a: T[] | Int32Array | Uint32Array, source: UniformSource): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = intFrom(i + 1, source);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t as never;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
