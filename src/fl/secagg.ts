// Secure aggregation, simulated in one process: the arithmetic and bookkeeping of Bonawitz et al.,
// "Practical Secure Aggregation for Privacy-Preserving Machine Learning" (CCS 2017), over the
// native kernels (fixed-point quantisation mod 2^32, ChaCha20 mask expansion, modular sums).
//
// Client u with input x_u (clipped to L2 norm ≤ bound, so every |x_u[i]| ≤ bound) sends
//   y_u = Q(x_u) + PRG(b_u) + Σ_{v>u} PRG(s_uv) − Σ_{v<u} PRG(s_uv)   (mod 2^32)
// Q the fixed-point encoding round(x · scale), b_u its self-mask seed, s_uv = s_vu the seed it
// shares with v. The server sums the y_u of the clients that reported (U'), then, from the
// unmasking round, removes PRG(b_u) for every u ∈ U' and, for every dropped v and u ∈ U', the
// pairwise mask u added with v — leaving Σ_{u∈U'} Q(x_u), which it decodes. The masks of two
// survivors cancel in the sum; a single y_u is uniformly distributed in Z_{2^32}^D to anyone
// without the seeds (a one-time pad with a pseudorandom key).
//
// Simulated: the encoding and its overflow bound (scale chosen so that K values of magnitude
// ≤ bound sum below 2^31), pairwise and self masks from 256-bit seeds (drawn from the OS CSPRNG,
// or derived from a seed for reproducible tests), cancellation, and the removal of dropped
// clients' masks once their seeds are revealed. NOT simulated: the Diffie–Hellman key agreement
// that produces s_uv, the t-of-n Shamir sharing by which survivors reveal b_u and s_uv (here the
// server is handed them directly), authenticated encryption, the consistency round, and any
// protection against a malicious server or clients. It shows the arithmetic is exact, not that a
// deployment is secure.
import { createHash, randomBytes } from 'node:crypto';
import { invalidArgument, invalidType } from '../errors.js';
import { clipByNorm } from '../kernels/clip.js';
import { float32Array, positiveFinite, positiveInteger } from '../validate.js';
import { applyMask, dequantizeFixed, quantizeFixed, sumMod } from '../kernels/fl.js';

/** The largest power-of-two scale with count · bound · scale < 2^31 (the sum cannot overflow). */
export function fixedPointScale(count: number, bound: number): number {
  positiveInteger('count', count);
  positiveFinite('bound', bound);
  // Below one unit per value the sum could overflow whatever the scale.
  if (count >= 2 ** 31 - 1) throw invalidArgument('count', `less than ${2 ** 31 - 1}`, count);
  // Rounding adds at most ½ per value: K·(bound·scale + ½) < 2^31.
  const scale = 2 ** Math.floor(Math.log2((2 ** 31 - 1 - count) / (count * bound)));
  if (!Number.isFinite(scale)) throw invalidArgument('bound', 'large enough for a finite fixed-point scale', bound);
  return scale;
}

function seedWords(bytes: Buffer): Uint32Array {
  return new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + 32));
}

export class SecureAggregation {
  readonly scale: number;
  readonly #pair = new Map<string, Uint32Array>();
  readonly #self = new Map<number, Uint32Array>();

  /**
   * clients: the ids of this round's participants; bound: the L2 clipping bound of every input;
   * seed: derive all mask seeds from it (tests only; default: OS CSPRNG).
   */
  constructor(
    readonly clients: number[],
    readonly dim: number,
    readonly bound: number,
    seed?: string,
  ) {
    // Ids are compared with < to orient each pairwise mask: they must be numbers (strings would
    // compare lexicographically against numbers and leave masks uncancelled).
    if (!Array.isArray(clients)) throw invalidType('clients', 'an array of client ids', clients);
    clients.forEach((u, i) => {
      if (!Number.isSafeInteger(u) || u < 0) throw invalidType(`clients[${i}]`, 'a non-negative safe integer id', u);
    });
    if (new Set(clients).size !== clients.length || clients.length < 2)
      throw invalidArgument('clients', 'at least two distinct ids', clients);
    if (!Number.isSafeInteger(dim) || dim < 1) throw invalidArgument('dim', 'a positive integer', dim);
    if (seed !== undefined && typeof seed !== 'string') throw invalidType('seed', 'a string or undefined', seed);
    this.scale = fixedPointScale(clients.length, bound);
    const draw = (label: string) =>
      seedWords(seed === undefined ? randomBytes(32) : createHash('sha256').update(`${seed}/${label}`).digest());
    for (const u of clients) {
      this.#self.set(u, draw(`self/${u}`));
      for (const v of clients) if (u < v) this.#pair.set(`${u}/${v}`, draw(`pair/${u}/${v}`));
    }
  }

  #pairSeed(u: number, v: number): Uint32Array {
    return this.#pair.get(u < v ? `${u}/${v}` : `${v}/${u}`)!;
  }

  /** Client u's message: its input clipped to the bound, encoded, and masked. x is not modified. */
  mask(u: number, x: Float32Array): Uint32Array {
    if (!this.#self.has(u)) throw invalidArgument('client', 'a participant of this round', u);
    float32Array('x', x, false);
    if (x.length !== this.dim) throw invalidArgument('x.length', `${this.dim}`, x.length);
    const clipped = Float32Array.from(x);
    clipByNorm(clipped, this.bound);
    const y = quantizeFixed(clipped, this.scale);
    applyMask(y, this.#self.get(u)!);
    for (const v of this.clients) if (v !== u) applyMask(y, this.#pairSeed(u, v), { subtract: u > v });
    return y;
  }

  /**
   * The server's result from the messages of the clients that reported: the sum of their clipped
   * inputs (decoded). Clients in this.clients without a message are treated as dropped and their
   * pairwise masks are removed with the seeds the survivors reveal.
   */
  unmask(messages: Map<number, Uint32Array>): { sum: Float32Array; survivors: number[]; dropped: number[] } {
    if (!(messages instanceof Map))
      throw invalidType('messages', 'a Map from client id to its masked message', messages);
    const survivors = this.clients.filter((u) => messages.has(u));
    const dropped = this.clients.filter((u) => !messages.has(u));
    for (const u of messages.keys())
      if (!this.#self.has(u)) throw invalidArgument('messages', 'from participants only', u);
    if (survivors.length === 0) throw invalidArgument('messages', 'from at least one participant', 0);
    const total = sumMod(survivors.map((u) => messages.get(u)!));
    for (const u of survivors) {
      applyMask(total, this.#self.get(u)!, { subtract: true });
      // u added +PRG(s_uv) for v > u and −PRG(s_uv) for v < u: undo it for each dropped v.
      for (const v of dropped) applyMask(total, this.#pairSeed(u, v), { subtract: u < v });
    }
    return { sum: dequantizeFixed(total, this.scale), survivors, dropped };
  }

  /** The plain (unmasked) encoding of client u's clipped input: for tests. */
  encode(x: Float32Array): Uint32Array {
    float32Array('x', x, false);
    if (x.length !== this.dim) throw invalidArgument('x.length', `${this.dim}`, x.length);
    const clipped = Float32Array.from(x);
    clipByNorm(clipped, this.bound);
    return quantizeFixed(clipped, this.scale);
  }
}
