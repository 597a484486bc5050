// The one seeded generator of dpfl (sampling, shuffling, splits, initialisation, synthetic data,
// FL simulations): xoshiro128** (Blackman and Vigna 2018) seeded through splitmix32. Its state is
// four uint32 words, saved in checkpoints. Not a cryptographic generator: a training run without a
// seed draws its seed from the OS CSPRNG (see seedFromOs), and where a draw must stay secret
// (DP-SGD's sampler, an unseeded FL server's selection) SecureRandom, the OS CSPRNG, is used instead.
// Both share every derived draw (uniforms, bounded integers, shuffles, categorical, normal, gamma,
// Dirichlet) through RandomSource, so a draw reads the same whichever generator feeds it.
import { invalidArgument, invalidType } from '../errors.js';
import { positiveFinite } from '../validate.js';

/** below(n) draws from [0, n): n must be a positive integer of at most 2^32 (one uint32 draw). */
function checkBound(n: number): void {
  if (!(Number.isInteger(n) && n > 0 && n <= 4294967296)) throw invalidArgument('n', 'an integer in [1, 2^32]', n);
}

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** An array or typed array (what shuffle, categorical and dirichlet read). */
function arrayLike(name: string, value: unknown): void {
  if (!Array.isArray(value) && !(ArrayBuffer.isView(value) && !(value instanceof DataView))) {
    throw invalidType(name, 'an array or typed array', value);
  }
}

/** A weight for categorical/dirichlet: checked in the loop that reads it, so draws stay one pass. */
function weight(name: string, i: number, w: unknown): number {
  if (!(typeof w === 'number' && w >= 0 && w < Infinity))
    throw invalidArgument(`${name}[${i}]`, 'a finite number >= 0', w);
  return w;
}

/** The splitmix64 finaliser (Steele, Lea and Flood 2014): a bijection of 64-bit words. */
function mix64(z: bigint): bigint {
  z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
  z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
  return z ^ (z >> 31n);
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** A fresh 53-bit seed from the OS CSPRNG. */
export function seedFromOs(): number {
  const w = globalThis.crypto.getRandomValues(new Uint32Array(2));
  return (w[0]! & 0x1fffff) * 2 ** 32 + w[1]!;
}

/** Every draw, built on a source of uniform uint32 words (a seeded Random or the OS CSPRNG). */
export abstract class RandomSource {
  /** A uniform uint32. */
  abstract nextUint32(): number;

  /** A uniform double in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform integer in [0, n) for n ≤ 2^32, without modulo bias. */
  below(n: number): number {
    checkBound(n);
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** A standard normal (Box–Muller; for initialisation and simulations, not privacy noise). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Fisher–Yates shuffle in place (a[i] swapped with a[below(i + 1)], from the end). */
  shuffle<T>(a: { length: number; [i: number]: T }): void {
    arrayLike('a', a);
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
  }

  /** An index drawn with probability proportional to weights[i] (weights ≥ 0, positive sum). */
  categorical(weights: ArrayLike<number>): number {
    arrayLike('weights', weights);
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += weight('weights', i, weights[i]);
    if (!(total > 0 && total < Infinity)) throw invalidArgument('weights', 'weights with a positive finite sum', total);
    let u = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i]!;
      if (u < 0) return i;
    }
    // Rounding left u ≥ 0 after the last weight: the last category with mass.
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i]! > 0) return i;
    return weights.length - 1;
  }

  /** Gamma(shape, 1) by Marsaglia and Tsang (ACM TOMS 2000), with the shape < 1 boost. */
  gamma(shape: number): number {
    positiveFinite('shape', shape);
    if (shape < 1) return this.gamma(shape + 1) * (1 - this.next()) ** (1 / shape);
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
    arrayLike('alpha', alpha);
    for (let i = 0; i < alpha.length; i++) weight('alpha', i, alpha[i]);
    if (alpha.length === 0) throw invalidArgument('alpha.length', 'at least 1', 0);
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
}

export class Random extends RandomSource {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** Seeds from a safe integer (or bigint, taken modulo 2^64), mixing every bit into the state. */
  constructor(seed: number | bigint) {
    super();
    if (typeof seed !== 'bigint' && !Number.isSafeInteger(seed)) {
      throw invalidArgument('seed', 'a safe integer or a bigint', seed);
    }
    const big = BigInt.asUintN(64, BigInt(seed));
    const st = { s: Number(big & 0xffffffffn) | 0 };
    const hi = Number(big >> 32n) >>> 0;
    this.s0 = splitmix32(st) ^ hi;
    this.s1 = splitmix32(st);
    this.s2 = splitmix32(st) ^ Math.imul(hi, 0x9e3779b9);
    this.s3 = splitmix32(st);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s3 = 1;
  }

  /** A uniform uint32. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /**
   * A generator for a named sub-task of a seeded run (client k in round t, ...): seeded from
   * (seed, ...path) through splitmix64, so it is independent of every other path and of the state
   * of any generator already drawing. derive(seed) with no path is new Random(seed).
   */
  static derive(seed: number | bigint, ...path: number[]): Random {
    if (typeof seed !== 'bigint' && !Number.isSafeInteger(seed)) {
      throw invalidArgument('seed', 'a safe integer or a bigint', seed);
    }
    let h = BigInt.asUintN(64, BigInt(seed));
    path.forEach((p, i) => {
      if (!(Number.isSafeInteger(p) && p >= 0)) throw invalidArgument(`path[${i}]`, 'a non-negative safe integer', p);
      h = mix64(BigInt.asUintN(64, h + 0x9e3779b97f4a7c15n * (BigInt(p) + 1n)));
    });
    return new Random(h);
  }

  /** The four state words (for checkpoints). */
  getState(): [number, number, number, number] {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
  }

  setState(state: readonly number[]): void {
    const words =
      Array.isArray(state) && state.length === 4 && state.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32);
    if (!words || state.every((v) => v === 0)) {
      throw invalidArgument('state', 'four uint32 words, not all zero (from getState)', state);
    }
    [this.s0, this.s1, this.s2, this.s3] = state.map((v) => v >>> 0) as [number, number, number, number];
  }
}

/**
 * The same interface over the OS CSPRNG (WebCrypto's getRandomValues, buffered; no node:* import,
 * so dpfl/data runs in browsers): for samplers in
 * production runs, where the batch choice must be unpredictable for privacy amplification by
 * sampling to hold. Its state cannot be saved: getState returns zeros and setState does nothing.
 */
export class SecureRandom extends RandomSource {
  private readonly buffer = new Uint32Array(4096);
  private pos = 4096;

  nextUint32(): number {
    if (this.pos === this.buffer.length) {
      globalThis.crypto.getRandomValues(this.buffer);
      this.pos = 0;
    }
    return this.buffer[this.pos++]!;
  }

  getState(): [number, number, number, number] {
    return [0, 0, 0, 0];
  }

  setState(_state: readonly number[]): void {}
}
