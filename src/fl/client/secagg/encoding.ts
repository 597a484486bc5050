// The client's arithmetic of secure aggregation, in pure TypeScript (browsers and Node, no addon):
// clipping, fixed-point quantisation into Z_{2^32} and ChaCha20 mask expansion. Quantisation and
// masks are bit-identical to the native kernels quantizeFixed and applyMask (src/kernels/fl.ts,
// native/cpu/fl_secagg.cpp, native/include/dpfl/chacha20.h), so a server that unmasks with the
// native kernels removes exactly what a browser added (test/fl/secagg-plus-encoding.test.ts).
import { chacha20 } from '@noble/ciphers/chacha.js';
import { invalidArgument } from '../../../errors.js';
import { float32Array, positiveFinite } from '../../../validate.js';

// |x·scale| below this rounds to at most 2^31 − 1 in magnitude (the native kernel's kLimit).
const LIMIT = 2147483647.5;

/** A copy of x scaled by min(1, clipNorm / ‖x‖) (the L2 norm accumulated in float64). */
export function clipToNorm(x: Float32Array, clipNorm: number): Float32Array {
  float32Array('x', x);
  positiveFinite('clipNorm', clipNorm);
  let sq = 0;
  for (let i = 0; i < x.length; i++) sq += x[i]! * x[i]!;
  const norm = Math.sqrt(sq);
  if (!Number.isFinite(norm)) throw invalidArgument('x', 'finite with a finite L2 norm', norm);
  const out = Float32Array.from(x);
  if (norm > clipNorm) {
    const s = clipNorm / norm;
    for (let i = 0; i < out.length; i++) out[i] = out[i]! * s;
    // float32 rounding can leave the norm a few ulps above clipNorm; scale down until it is not.
    for (let fix = 1 - 2 ** -23; normOf(out) > clipNorm; fix *= 1 - 2 ** -23)
      for (let i = 0; i < out.length; i++) out[i] = x[i]! * s * fix;
  }
  return out;
}

function normOf(x: Float32Array): number {
  let sq = 0;
  for (let i = 0; i < x.length; i++) sq += x[i]! * x[i]!;
  return Math.sqrt(sq);
}

/** round(v) with ties to even, as C's nearbyint in the default rounding mode (|v| < 2^31). */
function roundHalfEven(v: number): number {
  const r = Math.round(v); // ties toward +∞
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * out[i] = round(x[i] · scale) mod 2^32, half to even, two's complement: the native quantizeFixed.
 * Refuses (without writing) a value that is not finite or with |round(x · scale)| ≥ 2^31.
 */
export function quantize(x: Float32Array, scale: number, out = new Uint32Array(x.length)): Uint32Array {
  float32Array('x', x);
  positiveFinite('scale', scale);
  if (out.length !== x.length) throw invalidArgument('out.length', `${x.length}`, out.length);
  for (let i = 0; i < x.length; i++)
    if (!(Math.abs(x[i]! * scale) < LIMIT))
      throw invalidArgument(`x[${i}]`, 'finite with |round(x * scale)| < 2^31', x[i]);
  for (let i = 0; i < x.length; i++) out[i] = roundHalfEven(x[i]! * scale) >>> 0;
  return out;
}

/** int32(q[i]) / scale as float64 (the native dequantizeFixed, before its float32 rounding). */
export function dequantize(q: Uint32Array, scale: number): Float64Array {
  positiveFinite('scale', scale);
  const out = new Float64Array(q.length);
  for (let i = 0; i < q.length; i++) out[i] = (q[i]! | 0) / scale;
  return out;
}

/** The 32 bytes of a 256-bit mask seed as the eight little-endian words the native applyMask takes. */
export function seedWords(seed: Uint8Array): Uint32Array {
  if (seed.length !== 32) throw invalidArgument('seed.length', '32 (a 256-bit seed)', seed.length);
  const w = new Uint32Array(8);
  for (let i = 0; i < 8; i++)
    w[i] = (seed[4 * i]! | (seed[4 * i + 1]! << 8) | (seed[4 * i + 2]! << 16) | (seed[4 * i + 3]! << 24)) >>> 0;
  return w;
}

const BLOCKS_PER_CALL = 2 ** 32; // the counter word; block indices above it live in nonce word 0

/**
 * Adds (or subtracts) the mask of a 256-bit seed to x in place, modulo 2^32: word i is word i mod 16
 * of ChaCha20 (RFC 8439) block i / 16 under (key, stream), the block index's low 32 bits in the
 * counter and high bits in nonce word 0, the 64-bit stream in nonce words 1-2 (dpfl's layout).
 */
export function addMask(x: Uint32Array, seed: Uint8Array, options: { stream?: bigint; subtract?: boolean } = {}): void {
  if (seed.length !== 32) throw invalidArgument('seed.length', '32 (a 256-bit seed)', seed.length);
  const stream = options.stream ?? 0n;
  if (stream < 0n || stream >= 1n << 64n) throw invalidArgument('options.stream', 'in [0, 2^64)', stream);
  if (x.length / 16 > BLOCKS_PER_CALL) throw invalidArgument('x.length', 'at most 2^36 words', x.length);
  const nonce = new Uint8Array(12);
  const view = new DataView(nonce.buffer);
  view.setUint32(4, Number(stream & 0xffffffffn), true);
  view.setUint32(8, Number(stream >> 32n), true);
  const bytes = chacha20(seed, nonce, new Uint8Array(Math.ceil(x.length / 16) * 64));
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  if (options.subtract) for (let i = 0; i < x.length; i++) x[i] = (x[i]! - words[i]!) >>> 0;
  else for (let i = 0; i < x.length; i++) x[i] = (x[i]! + words[i]!) >>> 0;
}

/** base64url (RFC 4648 §5, no padding) of bytes: the encoding of every byte string in a message. */
export function toBase64Url(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The bytes of a base64url string; a typed error naming `name` for anything else. */
export function fromBase64Url(name: string, text: unknown, length?: number): Uint8Array {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1)
    throw invalidArgument(name, 'a base64url string', text);
  const b = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
  if (length !== undefined && out.length !== length) throw invalidArgument(`${name} (bytes)`, `${length}`, out.length);
  return out;
}
