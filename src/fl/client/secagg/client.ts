// One client's side of one SecAgg+ round: Bonawitz et al., "Practical Secure Aggregation for
// Privacy-Preserving Machine Learning" (CCS 2017, Fig. 4), with the sparse neighbour graph of Bell
// et al., "Secure Single-Server Aggregation with (Poly)Logarithmic Overhead" (CCS 2020): a client
// exchanges keys, shares and masks only with its k = O(log K) neighbours, never with all K.
//
//   advertise()          → AdvertiseKeys: public keys c_pk (share encryption) and s_pk (masks)
//   shareKeys(roster)    → ShareKeys: Shamir t-of-n shares of b_u and s_sk_u, one AES-GCM
//                          ciphertext per neighbour (key from X25519(c_sk_u, c_pk_v) and HKDF)
//   receiveShares(inbox)   decrypts and keeps the shares its neighbours sent it
//   mask(x)              → y = Q(clip(x)) + PRG(b_u) + Σ_{v>u} PRG(s_uv) − Σ_{v<u} PRG(s_uv) mod 2^32
//                          over the neighbours v whose shares arrived (they mask with u in turn)
//   unmask(request)      → UnmaskResponse: its share of b_v for each surviving neighbour v, of s_sk_v
//                          for each dropped one
//
// The refusals that protect the client against a curious server (Bonawitz §4, round 4): never
// reveal both shares of one neighbour (with b_v and s_sk_v the server could unmask v alone), never
// answer for a client that is not a neighbour whose shares it holds, never with fewer than t
// surviving neighbours, and never answer two different unmask requests in a round (else the server
// could call v dropped to some neighbours and a survivor to others). Each refusal is a SecAggError.
// Against a server that also forges clients (Sybils) the paper adds signatures from a PKI and a
// consistency round; dpfl's transport authenticates clients with its tokens instead.
//
// Isomorphic: WebCrypto, @noble/ciphers and shamir-secret-sharing only (no node:*, no addon).
import { combine as _combine, split } from 'shamir-secret-sharing';
import { invalidArgument, invalidType } from '../../../errors.js';
import { float32Array, integerAtLeast, positiveFinite, positiveInteger, requiredObject } from '../../../validate.js';
import {
  decryptShares,
  encryptShares,
  exportPrivateKey,
  generateKeyPair,
  pairEncryptionKey,
  pairMaskSeed,
  randomSeed,
  type CryptoKey,
  type KeyPair,
} from './crypto.js';
import { addMask, clipToNorm, fromBase64Url, quantize, toBase64Url } from './encoding.js';
import { SecAggError } from './errors.js';
import {
  checkHeader,
  entry,
  idField,
  isClientId,
  listField,
  type AdvertiseKeys,
  type Roster,
  type SecAggConfig,
  type ShareInbox,
  type ShareKeys,
  type UnmaskRequest,
  type UnmaskResponse,
} from './messages.js';

/** Bytes of one Shamir share of a 32-byte secret (the library appends its x-coordinate). */
export const SHARE_BYTES = 33;
/** Shamir over GF(2^8) gives at most 255 shares: a neighbourhood is at most that large. */
export const MAX_NEIGHBOURS = 255;

type Stage = 'new' | 'advertised' | 'shared' | 'received' | 'masked' | 'done';

interface Neighbour {
  cpk: Uint8Array;
  spk: Uint8Array;
  key: CryptoKey; // AES-GCM key of the pair
}

/** Checks a SecAggConfig (a typed error naming the field). */
export function checkConfig(config: SecAggConfig): SecAggConfig {
  requiredObject('config', config);
  if (!isClientId(config.client)) throw invalidType('config.client', 'a non-negative safe integer id', config.client);
  if (!Number.isSafeInteger(config.round) || config.round < 0)
    throw invalidArgument('config.round', 'a non-negative integer', config.round);
  positiveInteger('config.dim', config.dim);
  positiveFinite('config.clipNorm', config.clipNorm);
  positiveFinite('config.scale', config.scale);
  integerAtLeast('config.threshold', config.threshold, 2);
  if (config.threshold > MAX_NEIGHBOURS)
    throw invalidArgument('config.threshold', `at most ${MAX_NEIGHBOURS}`, config.threshold);
  if (!(config.clipNorm * config.scale < 2 ** 31))
    throw invalidArgument('config.scale', 'such that clipNorm · scale < 2^31', config.scale);
  return config;
}

export class SecAggClient {
  readonly config: SecAggConfig;
  #stage: Stage = 'new';
  #c: KeyPair | undefined;
  #s: KeyPair | undefined;
  #selfSeed: Uint8Array | undefined; // b_u
  readonly #neighbours = new Map<number, Neighbour>();
  /** The shares neighbour v sent: [share of b_v, share of s_sk_v]. */
  readonly #held = new Map<number, [Uint8Array, Uint8Array]>();
  #answer: { key: string; response: UnmaskResponse } | undefined;

  constructor(config: SecAggConfig) {
    this.config = { ...checkConfig(config) };
  }

  get stage(): Stage {
    return this.#stage;
  }

  /** The neighbours whose shares this client holds (those it masked with). */
  get holders(): number[] {
    return [...this.#held.keys()];
  }

  #expect(stage: Stage, step: string): void {
    if (this.#stage !== stage)
      throw new SecAggError('stage', `${step} needs stage '${stage}', the client is at '${this.#stage}'`);
  }

  /** Stage 1: two fresh X25519 key pairs; the public keys to send. */
  async advertise(): Promise<AdvertiseKeys> {
    this.#expect('new', 'advertise');
    this.#c = await generateKeyPair(false);
    this.#s = await generateKeyPair(true); // s_sk is secret-shared, so it must be exportable
    this.#stage = 'advertised';
    const { round, client } = this.config;
    return { round, client, cpk: toBase64Url(this.#c.publicKey), spk: toBase64Url(this.#s.publicKey) };
  }

  /** Stage 2: shares of b_u and s_sk_u for each neighbour in the roster, encrypted to it. */
  async shareKeys(roster: Roster): Promise<ShareKeys> {
    this.#expect('advertised', 'shareKeys');
    const { round, client, threshold } = this.config;
    const o = checkHeader('roster', roster, round, client);
    const list = listField('roster.neighbours', o.neighbours, (v, at) => {
      const e = entry(at, v);
      return {
        id: idField(`${at}.client`, e.client),
        cpk: fromBase64Url(`${at}.cpk`, e.cpk, 32),
        spk: fromBase64Url(`${at}.spk`, e.spk, 32),
      };
    });
    const ids = new Set(list.map((n) => n.id));
    if (ids.size !== list.length || ids.has(client))
      throw new SecAggError('message', 'roster.neighbours repeats a client or lists this client');
    if (list.length < threshold)
      throw new SecAggError('belowThreshold', `${list.length} neighbours, fewer than the threshold ${threshold}`);
    if (list.length > MAX_NEIGHBOURS)
      throw new SecAggError('message', `${list.length} neighbours, more than ${MAX_NEIGHBOURS}`);
    for (const n of list)
      this.#neighbours.set(n.id, {
        cpk: n.cpk,
        spk: n.spk,
        key: await pairEncryptionKey(this.#c!.privateKey, n.cpk, round, client, n.id),
      });
    this.#selfSeed = randomSeed();
    const sk = await exportPrivateKey(this.#s!.privateKey);
    const bShares = await split(this.#selfSeed, list.length, threshold);
    const skShares = await split(sk, list.length, threshold);
    sk.fill(0);
    const shares = await Promise.all(
      list.map(async (n, j) => {
        const plain = new Uint8Array(2 * SHARE_BYTES);
        plain.set(bShares[j]!);
        plain.set(skShares[j]!, SHARE_BYTES);
        const ct = await encryptShares(this.#neighbours.get(n.id)!.key, plain, round, client, n.id);
        return { to: n.id, ciphertext: toBase64Url(ct) };
      }),
    );
    this.#stage = 'shared';
    return { round, client, shares };
  }

  /** Stage 3: decrypts and keeps the shares neighbours sent (a tampered one: SecAggError 'decryption'). */
  async receiveShares(inbox: ShareInbox): Promise<void> {
    this.#expect('shared', 'receiveShares');
    const { round, client } = this.config;
    const o = checkHeader('inbox', inbox, round, client);
    const list = listField('inbox.shares', o.shares, (v, at) => {
      const e = entry(at, v);
      return { from: idField(`${at}.from`, e.from), ct: fromBase64Url(`${at}.ciphertext`, e.ciphertext) };
    });
    const held = new Map<number, [Uint8Array, Uint8Array]>();
    for (const { from, ct } of list) {
      const n = this.#neighbours.get(from);
      if (n === undefined) throw new SecAggError('notNeighbour', `inbox holds shares from ${from}, not a neighbour`);
      if (held.has(from)) throw new SecAggError('message', `inbox holds two ciphertexts from ${from}`);
      const plain = await decryptShares(n.key, ct, round, from, client);
      if (plain.length !== 2 * SHARE_BYTES)
        throw new SecAggError('message', `the shares of ${from} have a wrong length`);
      held.set(from, [plain.slice(0, SHARE_BYTES), plain.slice(SHARE_BYTES)]);
    }
    for (const [v, s] of held) this.#held.set(v, s);
    this.#stage = 'received';
  }

  /** Stage 3: the masked update y (Uint32Array of dim words) for the frame of kind 'masked'. */
  async mask(update: Float32Array): Promise<Uint32Array> {
    this.#expect('received', 'mask');
    const { round, client, dim, clipNorm, scale } = this.config;
    float32Array('update', update);
    if (update.length !== dim) throw invalidArgument('update.length', `the round's dimension (${dim})`, update.length);
    const y = quantize(clipToNorm(update, clipNorm), scale);
    addMask(y, this.#selfSeed!);
    for (const v of this.#held.keys()) {
      const seed = await pairMaskSeed(this.#s!.privateKey, this.#neighbours.get(v)!.spk, round, client, v);
      addMask(y, seed, { subtract: client > v });
      seed.fill(0);
    }
    // Done with the secrets: from here only the shares held for neighbours are needed.
    this.#selfSeed!.fill(0);
    this.#selfSeed = undefined;
    this.#s = undefined;
    this.#c = undefined;
    this.#stage = 'masked';
    return y;
  }

  /** Stage 4: the shares the server may have. The same request again gets the same answer. */
  async unmask(request: UnmaskRequest): Promise<UnmaskResponse> {
    const { round, client, threshold } = this.config;
    const o = checkHeader('request', request, round, client);
    const survivors = listField('request.survivors', o.survivors, (v, at) => idField(at, v));
    const dropped = listField('request.dropped', o.dropped, (v, at) => idField(at, v));
    const key = JSON.stringify([[...survivors].sort((a, b) => a - b), [...dropped].sort((a, b) => a - b)]);
    if (this.#answer !== undefined) {
      if (this.#answer.key !== key) throw new SecAggError('secondRequest', 'a second, different unmask request');
      return this.#answer.response;
    }
    this.#expect('masked', 'unmask');
    const s = new Set(survivors);
    const d = new Set(dropped);
    if (s.size !== survivors.length || d.size !== dropped.length)
      throw new SecAggError('message', 'the unmask request repeats a client');
    for (const v of s)
      if (d.has(v)) throw new SecAggError('bothLists', `client ${v} is listed as survivor and dropped`);
    for (const v of [...s, ...d])
      if (!this.#held.has(v)) throw new SecAggError('notNeighbour', `client ${v} is not a neighbour with shares here`);
    if (s.size < threshold)
      throw new SecAggError('belowThreshold', `${s.size} surviving neighbours, fewer than the threshold ${threshold}`);
    const response: UnmaskResponse = {
      round,
      client,
      selfMaskShares: survivors.map((v) => ({ of: v, share: toBase64Url(this.#held.get(v)![0]) })),
      keyShares: dropped.map((v) => ({ of: v, share: toBase64Url(this.#held.get(v)![1]) })),
    };
    this.#answer = { key, response };
    this.#stage = 'done';
    return response;
  }
}

/** Shamir reconstruction (the coordinator's side), re-exported so both sides use one library. */
export const combineShares = _combine;
