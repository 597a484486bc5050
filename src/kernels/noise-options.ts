// The options of the noise kernels, validated once for the host and device paths.
import { invalidArgument, invalidType } from '../errors.js';
import { nonNegativeFinite, nonNegativeInteger, optionsObject } from './validate.js';

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
  const opts = optionsObject('options', options);
  if (opts.secure !== undefined && typeof opts.secure !== 'boolean') {
    throw invalidType('options.secure', 'a boolean', opts.secure);
  }
  const secure = opts.secure ?? opts.seed === undefined;
  if (secure && opts.seed !== undefined) {
    throw invalidArgument('options.seed', 'absent in secure mode (secure keys come only from the OS CSPRNG)', opts.seed);
  }
  if (!secure && opts.seed === undefined) {
    throw invalidArgument('options.seed', 'given when options.secure is false', undefined);
  }
  return {
    std: s,
    seed: secure ? null : u64('options.seed', opts.seed),
    stream: opts.stream === undefined ? 0n : u64('options.stream', opts.stream),
    offset: opts.offset === undefined ? 0 : nonNegativeInteger('options.offset', opts.offset),
  };
}

