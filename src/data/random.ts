// A small seeded generator for sampling, shuffling, splits and initialisation: xoshiro128**
// (Blackman and Vigna 2018) seeded through splitmix32. Its state is four uint32 words, saved in
// checkpoints. Not a cryptographic generator: a training run without a seed draws its seed from
// the OS CSPRNG (see seedFromOs).
import { randomBytes, randomFillSync } from 'node:crypto';
import { invalidArgument } from '../errors.js';

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

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** A fresh 53-bit seed from the OS CSPRNG. */
export function seedFromOs(): number {
  const b = randomBytes(8);
  return (b.readUInt32LE(0) & 0x1fffff) * 2 ** 32 + b.readUInt32LE(4);
}

export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** Seeds from a safe integer (or bigint, taken modulo 2^64), mixing every bit into the state. */
  constructor(seed: number | bigint) {
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

  /** A standard normal (Box–Muller; for initialisation and synthetic data, not privacy noise). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** The four state words (for checkpoints). */
  getState(): [number, number, number, number] {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
  }

  setState(state: readonly number[]): void {
    [this.s0, this.s1, this.s2, this.s3] = state.map((v) => v >>> 0) as [number, number, number, number];
  }
}

/**
 * The same interface over the OS CSPRNG (crypto.randomFillSync, buffered): for samplers in
 * production runs, where the batch choice must be unpredictable for privacy amplification by
 * sampling to hold. Its state cannot be saved: getState returns zeros and setState does nothing.
 */
export class SecureRandom {
  private readonly buffer = new Uint32Array(4096);
  private pos = 4096;

  nextUint32(): number {
    if (this.pos === this.buffer.length) {
      randomFillSync(this.buffer);
      this.pos = 0;
    }
    return this.buffer[this.pos++]!;
  }

  next(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  below(n: number): number {
    checkBound(n);
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  getState(): [number, number, number, number] {
    return [0, 0, 0, 0];
  }

  setState(_state: readonly number[]): void {}
}
