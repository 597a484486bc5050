// The messages of SecAgg+ between the coordinator (src/fl/net/secagg-coordinator.ts) and a client
// (client.ts), in protocol order. Every one is a plain JSON object (byte strings as base64url),
// except the masked vector, a Uint32Array carried in the binary frame of ../wire.ts (kind 'masked').
// The transport (src/fl/net, ../join.ts) carries them under /v1/secagg/*; the engine never does I/O.
import { SecAggError } from './errors.js';

/** What a client must know of the round (the Task's secureAggregation plus the model's dim). */
export interface SecAggConfig {
  round: number;
  /** The client's own id (as the server knows it). */
  client: number;
  dim: number;
  /** Clip the update to this L2 norm before quantising (the round's DP clipNorm with DP-FedAvg). */
  clipNorm: number;
  /** The fixed-point scale: q = round(x · scale). */
  scale: number;
  /** t: shares needed to reconstruct a secret; the least number of surviving neighbours. */
  threshold: number;
}

/** Stage 1, client → server: its two public keys (c_pk encrypts shares, s_pk agrees mask seeds). */
export interface AdvertiseKeys {
  round: number;
  client: number;
  cpk: string;
  spk: string;
}

/** Stage 2, server → client: the public keys of its neighbours that advertised. */
export interface Roster {
  round: number;
  client: number;
  neighbours: { client: number; cpk: string; spk: string }[];
}

/** Stage 2, client → server: one ciphertext per neighbour, holding its shares of b_u and s_sk_u. */
export interface ShareKeys {
  round: number;
  client: number;
  shares: { to: number; ciphertext: string }[];
}

/** Stage 3, server → client: the ciphertexts addressed to it by neighbours that shared. */
export interface ShareInbox {
  round: number;
  client: number;
  shares: { from: number; ciphertext: string }[];
}

/** Stage 4, server → surviving client: which of its neighbours survived and which dropped. */
export interface UnmaskRequest {
  round: number;
  client: number;
  survivors: number[];
  dropped: number[];
}

/** Stage 4, client → server: its share of b_v for each survivor v, of s_sk_v for each dropped v. */
export interface UnmaskResponse {
  round: number;
  client: number;
  selfMaskShares: { of: number; share: string }[];
  keyShares: { of: number; share: string }[];
}

/** A client id: a non-negative safe integer (ids are ordered with < to orient pairwise masks). */
export function isClientId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Checks the common header of a message: an object for this round (and, given, for this client). */
export function checkHeader(name: string, m: unknown, round: number, client?: number): Record<string, unknown> {
  if (typeof m !== 'object' || m === null || Array.isArray(m))
    throw new SecAggError('message', `${name} is not an object`);
  const o = m as Record<string, unknown>;
  if (o.round !== round) throw new SecAggError('message', `${name}.round is ${String(o.round)}, not ${round}`);
  if (!isClientId(o.client)) throw new SecAggError('message', `${name}.client is not a client id`);
  if (client !== undefined && o.client !== client)
    throw new SecAggError('message', `${name}.client is ${o.client}, not ${client}`);
  return o;
}

/** An array field of a message, each entry checked by `item`. */
export function listField<T>(name: string, value: unknown, item: (v: unknown, at: string) => T): T[] {
  if (!Array.isArray(value)) throw new SecAggError('message', `${name} is not an array`);
  return value.map((v, i) => item(v, `${name}[${i}]`));
}

/** A client id field. */
export function idField(at: string, v: unknown): number {
  if (!isClientId(v)) throw new SecAggError('message', `${at} is not a client id`);
  return v;
}

/** An object entry of a list, with its fields. */
export function entry(at: string, v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null) throw new SecAggError('message', `${at} is not an object`);
  return v as Record<string, unknown>;
}
