// The server's side of a SecAgg+ round (Bonawitz et al., CCS 2017, Fig. 4, over the sparse graph of
// Bell et al., CCS 2020; see src/fl/client/secagg/client.ts for the client's side and
// secagg-graph.ts for k and t). Transport-agnostic: messages in, messages out. The network layer
// calls receive* as messages arrive and close* when a stage's deadline passes (with whoever
// answered); a client missing a stage is dropped from the later ones.
//
//   U1 advertised keys        closeAdvertise → roster(u): the keys of u's neighbours in U1
//   U2 sent encrypted shares  closeSharing   → inbox(u): the ciphertexts addressed to u by U2
//   U3 sent a masked vector   closeMasking   → unmaskRequest(u): u's neighbours in U3 / in U2 \ U3
//   U4 answered               finish         → the decoded sum of U3's clipped updates
//
// The coordinator never holds a key that decrypts shares; it keeps one running sum of the masked
// vectors mod 2^32 (O(D) memory whatever K), and at the end reconstructs, with t shares each, b_u
// of every survivor (to remove PRG(b_u)) and s_sk_v of every dropped v that a survivor masked
// with (to recompute s_uv = KDF(X25519(s_sk_v, s_pk_u)) and remove the pairwise masks survivors
// added with v). Masks between two survivors cancel in the sum. A client that masked and then
// left before unmasking is a survivor: its b_u comes from its neighbours' shares.
// A client left with fewer than t neighbours at a stage is dropped from it (its secrets could not be
// recovered); if a survivor or a needed dropped client has fewer than t surviving holders of its
// shares the round aborts before any unmask request goes out (SecAggError 'tooFewShares').
//
// State: toJSON() is plain data (small: keys, ciphertexts in flight, shares) and `sum` the running
// Uint32Array, to persist separately; fromJSON(state, sum) resumes after a crash.
import { Random, SecureRandom } from '../../data/random.js';
import { invalidArgument } from '../../errors.js';
import { applyMask, dequantizeFixed, sumMod } from '../../kernels/fl.js';
import { fixedPointScale } from '../secagg.js';
import { combineShares, MAX_NEIGHBOURS, SHARE_BYTES } from '../client/secagg/client.js';
import { importPrivateKey, pairMaskSeed } from '../client/secagg/crypto.js';
import { fromBase64Url, seedWords, toBase64Url } from '../client/secagg/encoding.js';
import { SecAggError } from '../client/secagg/errors.js';
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
} from '../client/secagg/messages.js';
import { graphParameters, NeighbourGraph, type GraphParameterOptions } from './secagg-graph.js';
import { finiteNumber, positiveFinite, positiveInteger, requiredObject } from '../../validate.js';

export type CoordinatorStage = 'advertise' | 'share' | 'mask' | 'unmask' | 'done' | 'aborted';

export interface SecAggCoordinatorOptions extends GraphParameterOptions {
  round: number;
  /** The round's participants (distinct non-negative integer ids). At least 3. */
  clients: number[];
  dim: number;
  /** Every client clips its update to this L2 norm (with DP-FedAvg: the round's clipNorm S). */
  clipNorm: number;
  /** k and t given explicitly (else graphParameters(K, options)). k even, or K − 1. */
  neighbours?: number;
  threshold?: number;
  /** Seed of the random relabelling (tests only; default the OS CSPRNG). */
  seed?: number;
}

export interface SecAggResult {
  /** Σ over survivors of their clipped updates, decoded from fixed point (float32). */
  sum: Float32Array;
  /** Clients whose update is in the sum (U3), increasing. */
  survivors: number[];
  /** Participants whose update is not (they left before masking), increasing. */
  dropped: number[];
}

/** The plain-data state of a coordinator (everything but the running sum). */
export interface SecAggCoordinatorState {
  version: 1;
  round: number;
  dim: number;
  clipNorm: number;
  scale: number;
  neighbours: number;
  threshold: number;
  stage: CoordinatorStage;
  order: number[];
  keys: [number, string, string][];
  u1: number[];
  shares: [number, [number, string][]][];
  u2: number[];
  u3: number[];
  answers: [number, [number, string][], [number, string][]][];
}

interface Keys {
  cpk: string;
  spk: string;
}

export class SecAggCoordinator {
  readonly round: number;
  readonly dim: number;
  readonly clipNorm: number;
  readonly scale: number;
  readonly threshold: number;
  readonly graph: NeighbourGraph;
  #stage: CoordinatorStage = 'advertise';
  #sum: Uint32Array;
  readonly #keys = new Map<number, Keys>();
  #u1 = new Set<number>();
  /** sender → (recipient → ciphertext), for U2's senders. */
  readonly #shares = new Map<number, Map<number, string>>();
  #u2 = new Set<number>();
  readonly #u3 = new Set<number>();
  /** responder → its shares of b_v (v → share) and of s_sk_v. */
  readonly #answers = new Map<number, { b: Map<number, string>; sk: Map<number, string> }>();
  #result: SecAggResult | undefined;

  constructor(options: SecAggCoordinatorOptions, restore?: { state: SecAggCoordinatorState; sum: Uint32Array }) {
    requiredObject('options', options);
    if (!Number.isSafeInteger(options.round) || options.round < 0)
      throw invalidArgument('options.round', 'a non-negative integer', options.round);
    this.round = options.round;
    this.dim = positiveInteger('options.dim', options.dim);
    this.clipNorm = positiveFinite('options.clipNorm', options.clipNorm);
    const clients = options.clients;
    if (!Array.isArray(clients) || clients.length < 3 || !clients.every(isClientId))
      throw invalidArgument('options.clients', 'an array of at least 3 non-negative integer ids', clients);
    if (new Set(clients).size !== clients.length) throw invalidArgument('options.clients', 'distinct ids', clients);
    this.scale = fixedPointScale(clients.length, this.clipNorm);
    let k: number;
    let t: number;
    if (options.neighbours !== undefined || options.threshold !== undefined) {
      k = positiveInteger('options.neighbours', options.neighbours);
      t = positiveInteger('options.threshold', options.threshold);
    } else {
      ({ neighbours: k, threshold: t } = graphParameters(clients.length, options));
    }
    if (t < 2 || t > k) throw invalidArgument('options.threshold', `an integer in [2, neighbours (${k})]`, t);
    if (k > MAX_NEIGHBOURS) throw invalidArgument('options.neighbours', `at most ${MAX_NEIGHBOURS}`, k);
    this.threshold = t;
    if (restore) {
      this.graph = new NeighbourGraph(restore.state.order, k);
      this.#sum = restore.sum;
      this.#restore(restore.state);
    } else {
      if (options.seed !== undefined) finiteNumber('options.seed', options.seed);
      const rng = options.seed === undefined ? new SecureRandom() : new Random(options.seed);
      this.graph = NeighbourGraph.random(clients, k, rng);
      this.#sum = new Uint32Array(this.dim);
    }
  }

  get stage(): CoordinatorStage {
    return this.#stage;
  }

  get neighbours(): number {
    return this.graph.neighbours;
  }

  /** The running sum of masked vectors (persist it beside toJSON()). */
  get sum(): Uint32Array {
    return this.#sum;
  }

  /** What client u needs to run its side (the Task's secureAggregation plus dim). */
  config(client: number): SecAggConfig {
    if (!this.graph.has(client)) throw invalidArgument('client', 'a participant of the round', client);
    const { round, dim, clipNorm, scale, threshold } = this;
    return { round, client, dim, clipNorm, scale, threshold };
  }

  /** The Task's secureAggregation field. */
  get task(): { clipNorm: number; scale: number; neighbours: number; threshold: number } {
    return { clipNorm: this.clipNorm, scale: this.scale, neighbours: this.neighbours, threshold: this.threshold };
  }

  #expect(stage: CoordinatorStage, step: string): void {
    if (this.#stage !== stage)
      throw new SecAggError('stage', `${step} needs stage '${stage}', the coordinator is at '${this.#stage}'`);
  }

  /** Drops from `set` every client with fewer than t neighbours in it, until none is left to drop. */
  #prune(set: Set<number>, adjacent: (u: number) => number[]): Set<number> {
    for (let changed = true; changed; ) {
      changed = false;
      for (const u of set)
        if (adjacent(u).filter((v) => set.has(v)).length < this.threshold) {
          set.delete(u);
          changed = true;
        }
    }
    return set;
  }

  // ---- stage 1: advertise keys

  /** Takes a client's public keys. A repeat with the same keys is ignored; different keys are refused. */
  receiveKeys(message: AdvertiseKeys): void {
    this.#expect('advertise', 'receiveKeys');
    const o = checkHeader('message', message, this.round);
    const u = o.client as number;
    if (!this.graph.has(u)) throw new SecAggError('message', `client ${u} is not a participant`);
    const cpk = toBase64Url(fromBase64Url('message.cpk', o.cpk, 32));
    const spk = toBase64Url(fromBase64Url('message.spk', o.spk, 32));
    if (cpk === spk) throw new SecAggError('message', `client ${u} advertised the same key twice`);
    const had = this.#keys.get(u);
    if (had && (had.cpk !== cpk || had.spk !== spk)) throw new SecAggError('message', `client ${u} changed its keys`);
    this.#keys.set(u, { cpk, spk });
  }

  /** Ends stage 1: U1 = the clients that advertised and have at least t neighbours that did. */
  closeAdvertise(): number[] {
    this.#expect('advertise', 'closeAdvertise');
    // Equal public keys across clients would let one client read another's shares (Bonawitz §4).
    const seen = new Set<string>();
    for (const [u, k] of this.#keys) {
      if (seen.has(k.cpk) || seen.has(k.spk)) this.#keys.delete(u);
      seen.add(k.cpk).add(k.spk);
    }
    this.#u1 = this.#prune(new Set(this.#keys.keys()), (u) => this.graph.neighboursOf(u));
    this.#stage = 'share';
    return [...this.#u1];
  }

  /** The neighbours of u in U1 (those it shares with and, if they share too, masks with). */
  #roster(u: number): number[] {
    return this.graph.neighboursOf(u).filter((v) => this.#u1.has(v));
  }

  /** Stage 2's message to u ∈ U1. */
  roster(client: number): Roster {
    if (!this.#u1.has(client) || this.#stage === 'advertise')
      throw new SecAggError('stage', `client ${client} has no roster (not in U1, or stage 1 not closed)`);
    return {
      round: this.round,
      client,
      neighbours: this.#roster(client).map((v) => ({ client: v, ...this.#keys.get(v)! })),
    };
  }

  // ---- stage 2: share keys

  /** Takes a client's encrypted shares: exactly one ciphertext per neighbour of its roster. */
  receiveShares(message: ShareKeys): void {
    this.#expect('share', 'receiveShares');
    const o = checkHeader('message', message, this.round);
    const u = o.client as number;
    if (!this.#u1.has(u)) throw new SecAggError('message', `client ${u} is not in U1`);
    if (this.#shares.has(u)) throw new SecAggError('stage', `client ${u} already sent its shares`);
    const list = listField('message.shares', o.shares, (v, at) => {
      const e = entry(at, v);
      const ct = fromBase64Url(`${at}.ciphertext`, e.ciphertext);
      if (ct.length !== 12 + 2 * SHARE_BYTES + 16)
        throw new SecAggError('message', `${at}.ciphertext has a wrong length`);
      return [idField(`${at}.to`, e.to), e.ciphertext as string] as [number, string];
    });
    const want = new Set(this.#roster(u));
    const got = new Map(list);
    if (got.size !== list.length || got.size !== want.size || ![...got.keys()].every((v) => want.has(v)))
      throw new SecAggError('message', `client ${u} must send one ciphertext to each of its ${want.size} neighbours`);
    this.#shares.set(u, got);
  }

  /** Ends stage 2: U2 = the clients that sent shares and have at least t neighbours that did. */
  closeSharing(): number[] {
    this.#expect('share', 'closeSharing');
    this.#u2 = this.#prune(new Set(this.#shares.keys()), (u) => this.#roster(u));
    for (const u of this.#shares.keys()) if (!this.#u2.has(u)) this.#shares.delete(u);
    this.#stage = 'mask';
    return [...this.#u2];
  }

  /** The neighbours holding u's shares, which u masks with (and they with u): roster(u) ∩ U2. */
  #holders(u: number): number[] {
    return this.#roster(u).filter((v) => this.#u2.has(v));
  }

  /** Stage 3's message to u ∈ U2: the ciphertexts its neighbours in U2 addressed to it. */
  inbox(client: number): ShareInbox {
    if (!this.#u2.has(client) || !(this.#stage === 'mask' || this.#stage === 'unmask'))
      throw new SecAggError('stage', `client ${client} has no inbox (not in U2, or stage 2 not closed)`);
    return {
      round: this.round,
      client,
      shares: this.#holders(client).map((v) => ({ from: v, ciphertext: this.#shares.get(v)!.get(client)! })),
    };
  }

  // ---- stage 3: masked input

  /** Adds client u's masked vector (from a frame of kind 'masked') to the running sum. */
  receiveMasked(client: number, masked: Uint32Array): void {
    this.#expect('mask', 'receiveMasked');
    if (!this.#u2.has(client)) throw new SecAggError('message', `client ${client} is not in U2`);
    if (this.#u3.has(client)) throw new SecAggError('stage', `client ${client} already sent its masked vector`);
    if (!(masked instanceof Uint32Array) || masked.length !== this.dim)
      throw new SecAggError('message', `the masked vector must be a Uint32Array of ${this.dim} words`);
    sumMod([this.#sum, masked], { out: this.#sum });
    this.#u3.add(client);
  }

  /**
   * Ends stage 3: U3 = the clients that sent a masked vector. Checks, before revealing anything,
   * that every secret the unmasking needs has t holders in U3; else aborts (no sum is released).
   */
  closeMasking(): number[] {
    this.#expect('mask', 'closeMasking');
    for (const u of this.#u2) {
      const alive = this.#holders(u).filter((v) => this.#u3.has(v));
      const needed = this.#u3.has(u) || alive.length > 0;
      if (needed && alive.length < this.threshold) {
        this.#stage = 'aborted';
        throw new SecAggError(
          'tooFewShares',
          `client ${u} has ${alive.length} surviving neighbours, fewer than the threshold ${this.threshold}`,
        );
      }
    }
    if (this.#u3.size === 0) {
      this.#stage = 'aborted';
      throw new SecAggError('tooFewShares', 'no client sent a masked vector');
    }
    this.#shares.clear(); // delivered: the ciphertexts are no longer needed
    this.#stage = 'unmask';
    return [...this.#u3];
  }

  /** Stage 4's message to u ∈ U3. */
  unmaskRequest(client: number): UnmaskRequest {
    if (!this.#u3.has(client) || this.#stage !== 'unmask')
      throw new SecAggError('stage', `client ${client} is not asked to unmask (not in U3, or stage 3 not closed)`);
    const h = this.#holders(client);
    return {
      round: this.round,
      client,
      survivors: h.filter((v) => this.#u3.has(v)),
      dropped: h.filter((v) => !this.#u3.has(v)),
    };
  }

  // ---- stage 4: unmask

  /** Takes a client's shares; they must answer exactly its unmask request. */
  receiveUnmask(message: UnmaskResponse): void {
    this.#expect('unmask', 'receiveUnmask');
    const o = checkHeader('message', message, this.round);
    const u = o.client as number;
    if (!this.#u3.has(u)) throw new SecAggError('message', `client ${u} was not asked to unmask`);
    if (this.#answers.has(u)) return; // a retry: the first answer counts
    const read = (name: string, value: unknown) =>
      new Map(
        listField(name, value, (v, at) => {
          const e = entry(at, v);
          fromBase64Url(`${at}.share`, e.share, SHARE_BYTES);
          return [idField(`${at}.of`, e.of), e.share as string] as [number, string];
        }),
      );
    const b = read('message.selfMaskShares', o.selfMaskShares);
    const sk = read('message.keyShares', o.keyShares);
    const req = this.unmaskRequest(u);
    const same = (m: Map<number, string>, want: number[]) => m.size === want.length && want.every((v) => m.has(v));
    if (!same(b, req.survivors) || !same(sk, req.dropped))
      throw new SecAggError('message', `client ${u}'s shares do not answer its unmask request`);
    this.#answers.set(u, { b, sk });
  }

  /** The clients that answered the unmask request so far. */
  get answered(): number[] {
    return [...this.#answers.keys()];
  }

  /**
   * Ends the round with the answers received: reconstructs the secrets, removes the masks and
   * decodes. SecAggError 'tooFewShares' (no sum) when a secret has fewer than t shares.
   */
  async finish(): Promise<SecAggResult> {
    if (this.#result) return this.#result;
    this.#expect('unmask', 'finish');
    const t = this.threshold;
    const gather = (of: number, kind: 'b' | 'sk'): Uint8Array[] => {
      const out: Uint8Array[] = [];
      for (const v of this.#holders(of)) {
        const s = this.#answers.get(v)?.[kind].get(of);
        if (s !== undefined) out.push(fromBase64Url('share', s, SHARE_BYTES));
        if (out.length === t) return out;
      }
      this.#stage = 'aborted';
      throw new SecAggError('tooFewShares', `${out.length} shares of client ${of}'s ${kind}, fewer than ${t}`);
    };
    // Gather everything first: an abort must come before any mask is removed.
    const selfShares = [...this.#u3].map((u) => [u, gather(u, 'b')] as const);
    const dropped = [...this.#u2].filter((v) => !this.#u3.has(v));
    const keyShares = dropped
      .filter((v) => this.#holders(v).some((u) => this.#u3.has(u)))
      .map((v) => [v, gather(v, 'sk')] as const);
    const total = Uint32Array.from(this.#sum);
    for (const [v, shares] of keyShares) {
      const raw = await combineShares(shares);
      const sk = await importPrivateKey(raw);
      raw.fill(0);
      if (toBase64Url(sk.publicKey) !== this.#keys.get(v)!.spk) {
        this.#stage = 'aborted';
        throw new SecAggError('badShares', `the shares of client ${v}'s key do not reconstruct it`);
      }
      for (const u of this.#holders(v)) {
        if (!this.#u3.has(u)) continue;
        const spk = fromBase64Url('spk', this.#keys.get(u)!.spk, 32);
        const seed = await pairMaskSeed(sk.privateKey, spk, this.round, v, u);
        // u added +PRG(s_uv) when v > u and −PRG(s_uv) when v < u: undo it.
        applyMask(total, seedWords(seed), { subtract: v > u });
      }
    }
    for (const [, shares] of selfShares) applyMask(total, seedWords(await combineShares(shares)), { subtract: true });
    const survivors = [...this.#u3].sort((a, b) => a - b);
    const result: SecAggResult = {
      sum: dequantizeFixed(total, this.scale),
      survivors,
      dropped: this.graph.order.filter((u) => !this.#u3.has(u)).sort((a, b) => a - b),
    };
    this.#result = result;
    this.#stage = 'done';
    return result;
  }

  // ---- persistence

  toJSON(): SecAggCoordinatorState {
    return {
      version: 1,
      round: this.round,
      dim: this.dim,
      clipNorm: this.clipNorm,
      scale: this.scale,
      neighbours: this.neighbours,
      threshold: this.threshold,
      stage: this.#stage,
      order: [...this.graph.order],
      keys: [...this.#keys].map(([u, k]) => [u, k.cpk, k.spk]),
      u1: [...this.#u1],
      shares: [...this.#shares].map(([u, m]) => [u, [...m]]),
      u2: [...this.#u2],
      u3: [...this.#u3],
      answers: [...this.#answers].map(([u, a]) => [u, [...a.b], [...a.sk]]),
    };
  }

  /** Resumes a coordinator from toJSON() and its running sum. */
  static fromJSON(state: SecAggCoordinatorState, sum: Uint32Array): SecAggCoordinator {
    requiredObject('state', state);
    if (state.version !== 1) throw invalidArgument('state.version', '1', state.version);
    if (!(sum instanceof Uint32Array) || sum.length !== state.dim)
      throw invalidArgument('sum', `a Uint32Array of ${state.dim} words`, sum);
    const c = new SecAggCoordinator(
      {
        round: state.round,
        clients: state.order,
        dim: state.dim,
        clipNorm: state.clipNorm,
        neighbours: state.neighbours,
        threshold: state.threshold,
      },
      { state, sum: Uint32Array.from(sum) },
    );
    if (c.scale !== state.scale) throw invalidArgument('state.scale', `${c.scale}`, state.scale);
    return c;
  }

  #restore(s: SecAggCoordinatorState): void {
    this.#stage = s.stage;
    for (const [u, cpk, spk] of s.keys) this.#keys.set(u, { cpk, spk });
    this.#u1 = new Set(s.u1);
    for (const [u, m] of s.shares) this.#shares.set(u, new Map(m));
    this.#u2 = new Set(s.u2);
    for (const u of s.u3) this.#u3.add(u);
    for (const [u, b, sk] of s.answers) this.#answers.set(u, { b: new Map(b), sk: new Map(sk) });
  }
}
