// The options of the noise kernels, validated once for the host and device paths.
import { invalidArgument, invalidType } from '../errors.js';
import { MAX_ABS_NOISE_SAMPLE } from './constants.js';
import { nonNegativeFinite, nonNegativeInteger, optionalBoolean, optionsObject } from '../validate.js';

export interface GaussianNoiseOptions {
  /**
   * Reproducible mode: the 64-bit Philox4x32-10 key. The same (seed, stream, offset, length) gives
   * bit-identical noise on every run, thread count and chunking. For experiments and tests: a seed
   * that can be guessed gives no privacy.
   */
  seed?: number | bigint;
  /** Independent stream under one seed (e.g. one per tensor or per round). Default 0. */
  stream?: number | bigint;
  /** Index of the first sample of the stream to use: x[i] gets sample offset + i. Default 0. */
  offset?: number;
  /**
   * Secure mode: a fresh 256-bit ChaCha20 key from the OS CSPRNG on every call, and the
   * Holohan-Braghin sampler against floating-point attacks. The default when no seed is given;
   * refuses a seed.
   */
  secure?: boolean;
}

const U64_MAX = (1n << 64n) - 1n;

function u64(name: string, value: unknown): bigint {
  if (typeof value === 'bigint') {
    if (value < 0n || value > U64_MAX) throw invalidArgument(name, 'an integer in [0, 2^64)', value);
    return value;
  }
  if (typeof value === 'number') return BigInt(nonNegativeInteger(name, value));
  throw invalidType(name, 'a non-negative integer or bigint', value);
}

/**
 * The largest std accepted: std · MAX_ABS_NOISE_SAMPLE ≤ 2^102. MAX_ABS_NOISE_SAMPLE (12.2, from the
 * core) bounds |z| of either sampler: Box–Muller on uniforms of 52 bits (≥ 2^-53) gives
 * |z| ≤ sqrt(-2 ln 2^-53) = sqrt(106 ln 2) ≈ 8.57 (native/include/dpfl/gaussian.h); the secure
 * sampler's (z1 + z2)/√2 (Holohan and Braghin, ESORICS 2021) at most √2 times that, ≈ 12.12,
 * rounded up for the error of dpfl's own log (≤ 5e-14 relative). The largest finite float32 is
 * (2 − 2^-23)·2^127, whose ulp is 2^104: a sum x + noise rounds to ±Infinity only when it exceeds
 * that by half an ulp (2^103). With |noise| ≤ 2^102 no finite x can overflow, so the bound needs no
 * pass over x, and noise of ~4e29 already erases every value a model holds.
 */
export const MAX_NOISE_STD = 2 ** 102 / MAX_ABS_NOISE_SAMPLE;

export interface NoiseArgs {
  std: number;
  /** null: secure mode. */
  seed: bigint | null;
  stream: bigint;
  offset: number;
}

/** Validates std and the noise options (shared by the host and device paths). */
export function readNoiseOptions(std: unknown, options: GaussianNoiseOptions | undefined): NoiseArgs {
  const s = nonNegativeFinite('std', std);
  if (s > MAX_NOISE_STD) {
    const bound = MAX_NOISE_STD.toPrecision(4);
    throw invalidArgument('std', `at most ${bound} (larger noise could overflow float32 to ±Infinity)`, s);
  }
  const opts = optionsObject('options', options);
  const secure = optionalBoolean('options.secure', opts.secure, opts.seed === undefined);
  if (secure && opts.seed !== undefined) {
    throw invalidArgument(
      'options.seed',
      'absent in secure mode (secure keys come only from the OS CSPRNG)',
      opts.seed,
    );
  }
  if (!secure && opts.seed === undefined) {
    throw invalidArgument('options.seed', 'given when options.secure is false', undefined);
  }
  // Secure mode draws a fresh key on every call: a stream or offset would be silently meaningless.
  if (secure && opts.stream !== undefined) {
    throw invalidArgument('options.stream', 'absent in secure mode (it selects a stream of a seeded key)', opts.stream);
  }
  if (secure && opts.offset !== undefined) {
    throw invalidArgument('options.offset', 'absent in secure mode (it positions a seeded stream)', opts.offset);
  }
  return {
    std: s,
    seed: secure ? null : u64('options.seed', opts.seed),
    stream: opts.stream === undefined ? 0n : u64('options.stream', opts.stream),
    offset: opts.offset === undefined ? 0 : nonNegativeInteger('options.offset', opts.offset),
  };
}
