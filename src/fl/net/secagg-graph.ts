// The SecAgg+ communication graph and its parameters (Bell, Bonawitz, Gascón, Lepoint and Raykova,
// "Secure Single-Server Aggregation with (Poly)Logarithmic Overhead", CCS 2020, §3-4): instead of
// every pair of the K clients sharing masks and secrets (Bonawitz et al., O(K) per client), each
// client does so only with its k neighbours in a k-regular graph over a uniformly random
// relabelling of the clients, with k = O(log K). We use the Harary graph H(k, K) for even k: on a
// ring of the relabelled clients, each is joined to the k/2 nearest on either side (as Flower's
// SecAgg+ does, flwr/server/workflow/secure_aggregation/secaggplus_workflow.py).
//
// Choosing k and the threshold t. Bell et al. bound three failure events with a union over the
// K neighbourhoods (their Lemma 3.5-3.6 give k = O(log K) for fixed dropout δ and corrupted
// fraction γ); we compute the same bounds exactly for the given K instead of using their
// asymptotic constants, and take the smallest even k that passes all three:
//   security     no client has t corrupted neighbours (who could pool shares of its secrets):
//                K · P[Bin(k, γ) ≥ t] ≤ 2^−σ;
//   correctness  every client keeps t surviving neighbours (its secrets can be reconstructed):
//                K · P[Bin(k, 1 − δ) < t] ≤ 2^−η;
//   connectivity the graph stays connected once dropped and corrupted clients are removed (else
//                the server learns the sum of a component): H(k, K) on the ring splits only where
//                k/2 consecutive clients are removed, so K · (γ + δ)^{k/2} ≤ 2^−σ.
// The neighbourhoods of a random relabelling are draws without replacement, whose tails the
// binomial's dominate (Hoeffding 1963), so the bounds are conservative. t is the smallest value
// that meets the security bound. Defaults: σ = 40, η = 20 (Bell et al.'s statistical security and
// correctness parameters are of this size), γ = 0.05, δ = 0.1. When no k ≤ min(K − 1, 254) passes
// (small K), the complete graph k = K − 1 (Bonawitz et al.'s protocol) with t = ⌊k/2⌋ + 1 is used,
// unless the caller gives k and t.
import { invalidArgument, invalidType } from '../../errors.js';
import type { RandomSource } from '../../data/random.js';

export interface GraphParameterOptions {
  /** δ: the fraction of clients expected to drop out during the round. Default 0.1. */
  dropout?: number;
  /** γ: the fraction of clients that may collude with the server. Default 0.05. */
  corrupt?: number;
  /** σ: −log2 of the failure probability of security (and connectivity). Default 40. */
  securityBits?: number;
  /** η: −log2 of the probability that some secret cannot be reconstructed. Default 20. */
  correctnessBits?: number;
}

export interface GraphParameters {
  /** k: neighbours per client (K − 1: the complete graph). */
  neighbours: number;
  /** t: shares needed to reconstruct a secret. */
  threshold: number;
  /** How k and t were chosen. */
  rule: 'bounds' | 'complete' | 'given';
}

/** log C(n, i) for small n (a sum of logs: n ≤ 255 here). */
function logChoose(n: number, i: number): number {
  let s = 0;
  for (let j = 1; j <= i; j++) s += Math.log((n - i + j) / j);
  return s;
}

/** log P[Bin(n, p) = i]. */
function logPmf(n: number, p: number, i: number): number {
  if (p === 0) return i === 0 ? 0 : -Infinity;
  if (p === 1) return i === n ? 0 : -Infinity;
  return logChoose(n, i) + i * Math.log(p) + (n - i) * Math.log1p(-p);
}

/** P[Bin(n, p) ≥ t]. */
export function binomialUpperTail(n: number, p: number, t: number): number {
  let s = 0;
  for (let i = Math.max(0, t); i <= n; i++) s += Math.exp(logPmf(n, p, i));
  return Math.min(1, s);
}

function fraction(name: string, v: number): number {
  if (!(typeof v === 'number' && v >= 0 && v < 1)) throw invalidArgument(name, 'a number in [0, 1)', v);
  return v;
}

/** k and t for K clients by the three bounds above (see the file's comment). */
export function graphParameters(count: number, options: GraphParameterOptions = {}): GraphParameters {
  if (!Number.isSafeInteger(count) || count < 3) throw invalidArgument('count', 'an integer ≥ 3', count);
  const delta = fraction('dropout', options.dropout ?? 0.1);
  const gamma = fraction('corrupt', options.corrupt ?? 0.05);
  if (!(gamma + delta < 1)) throw invalidArgument('dropout + corrupt', 'less than 1', gamma + delta);
  const sigma = options.securityBits ?? 40;
  const eta = options.correctnessBits ?? 20;
  if (!(sigma > 0 && sigma <= 128)) throw invalidArgument('securityBits', 'in (0, 128]', sigma);
  if (!(eta > 0 && eta <= 128)) throw invalidArgument('correctnessBits', 'in (0, 128]', eta);
  const security = 2 ** -sigma / count;
  const correctness = 2 ** -eta / count;
  const cap = Math.min(count - 1, 254);
  for (let k = 2; k <= cap; k += 2) {
    if ((gamma + delta) ** (k / 2) > security) continue;
    let t = 2;
    while (t <= k && binomialUpperTail(k, gamma, t) > security) t++;
    if (t > k) continue;
    // P[Bin(k, 1 − δ) < t] = P[Bin(k, δ) > k − t] = P[Bin(k, δ) ≥ k − t + 1]
    if (binomialUpperTail(k, delta, k - t + 1) <= correctness) return { neighbours: k, threshold: t, rule: 'bounds' };
  }
  const k = count - 1;
  return { neighbours: k, threshold: Math.max(2, Math.floor(k / 2) + 1), rule: 'complete' };
}

/**
 * The SecAgg+ graph: clients on a ring in a uniformly random order, each joined to the k/2 nearest
 * on each side (Harary H(k, K), k even), or to everyone when k ≥ K − 1.
 */
export class NeighbourGraph {
  readonly #position = new Map<number, number>();

  constructor(
    /** The clients in ring order. */
    readonly order: readonly number[],
    readonly neighbours: number,
  ) {
    if (!Array.isArray(order)) throw invalidType('order', 'an array of client ids', order);
    order.forEach((c, i) => {
      if (!Number.isSafeInteger(c) || c < 0) throw invalidType(`order[${i}]`, 'a non-negative safe integer id', c);
      this.#position.set(c, i);
    });
    if (this.#position.size !== order.length) throw invalidArgument('order', 'distinct client ids', order);
    if (!Number.isSafeInteger(neighbours) || neighbours < 1 || neighbours >= order.length)
      throw invalidArgument('neighbours', `an integer in [1, ${order.length - 1}]`, neighbours);
    if (neighbours < order.length - 1 && neighbours % 2 !== 0)
      throw invalidArgument('neighbours', 'even (Harary H(k, K)) or K − 1 (the complete graph)', neighbours);
  }

  /** A graph over `clients` in an order drawn with rng (Fisher–Yates). */
  static random(clients: readonly number[], neighbours: number, rng: RandomSource): NeighbourGraph {
    const order = [...clients];
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.below(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    return new NeighbourGraph(order, neighbours);
  }

  get size(): number {
    return this.order.length;
  }

  has(client: number): boolean {
    return this.#position.has(client);
  }

  /** The k neighbours of a client, in ring order. */
  neighboursOf(client: number): number[] {
    const i = this.#position.get(client);
    if (i === undefined) throw invalidArgument('client', 'a participant of the round', client);
    const n = this.order.length;
    if (this.neighbours >= n - 1) return this.order.filter((c) => c !== client);
    const out: number[] = [];
    for (let d = 1; d <= this.neighbours / 2; d++) out.push(this.order[(i + d) % n]!, this.order[(i - d + n) % n]!);
    return out;
  }

  /** Whether u and v are neighbours. */
  adjacent(u: number, v: number): boolean {
    const i = this.#position.get(u);
    const j = this.#position.get(v);
    if (i === undefined || j === undefined || u === v) return false;
    const n = this.order.length;
    const d = Math.abs(i - j);
    return Math.min(d, n - d) <= this.neighbours / 2 || this.neighbours >= n - 1;
  }
}
