// Non-IID partitions of a labelled dataset over M clients. Seeded; each reports per-client sizes
// and label histograms.
//
// - 'iid': a random permutation cut into M near-equal parts.
// - 'label' (label skew): client k draws label proportions q_k ~ Dirichlet(α·p), p the global
//   label proportions (Hsu, Qi and Brown 2019, "Measuring the Effects of Non-Identical Data
//   Distribution for Federated Visual Classification"); every client gets ⌊N/M⌋ or ⌈N/M⌉
//   examples, each drawn by label from q_k restricted to the labels that still have unassigned
//   examples (renormalised), without replacement. α → ∞: IID; α → 0: one label per client.
// - 'quantity' (quantity skew): client shares s ~ Dirichlet(β·1_M), sizes 1 + round(s·(N − M))
//   (every client holds at least one example), examples assigned at random (Li, Diao, Chen and
//   He, "Federated Learning on Non-IID Data Silos: An Experimental Study", ICDE 2022).
// - 'natural': by options.owners, the dataset's own owner of each example (sender domain for the
//   spam corpus, writer for synthetic data; what loadDataset returns). With M ≥ the number of
//   groups each group is one client (M is lowered to the number of groups); with fewer clients,
//   whole groups are dealt to clients in decreasing size order, each to the currently smallest
//   client, so no group is split.
import { invalidArgument, invalidType } from '../errors.js';
import { positiveFinite, requiredObject } from '../validate.js';
import { checkOwners, type Dataset, type Owners } from '../data/dataset.js';
import { Random } from '../data/random.js';
import { labelledDataset } from './validate.js';

export type PartitionKind = 'iid' | 'label' | 'quantity' | 'natural';

export interface PartitionOptions {
  kind: PartitionKind;
  clients: number;
  /** Concentration α of label skew. Default 0.5. */
  alpha?: number;
  /** Concentration β of quantity skew. Default 0.5. */
  beta?: number;
  seed?: number;
  /** 'natural': the owner of each example of the dataset (src/data's Owners). */
  owners?: Owners;
}

export interface Partition {
  kind: PartitionKind;
  /** Example indices of each client. */
  clients: Int32Array[];
  sizes: number[];
  /** labelHistograms[k][c]: examples of label c held by client k. */
  labelHistograms: number[][];
}

function histograms(data: Dataset, clients: Int32Array[]): number[][] {
  return clients.map((idx) => {
    const h = new Array<number>(data.classes).fill(0);
    for (const i of idx) h[data.labels[i]!]! += 1;
    return h;
  });
}

function evenSplit(order: number[], m: number): Int32Array[] {
  const n = order.length;
  return Array.from({ length: m }, (_, k) =>
    Int32Array.from(order.slice(Math.floor((k * n) / m), Math.floor(((k + 1) * n) / m))),
  );
}

function labelSkew(data: Dataset, m: number, alpha: number, rng: Random): Int32Array[] {
  const n = data.size;
  const c = data.classes;
  const pools: number[][] = Array.from({ length: c }, () => []);
  for (let i = 0; i < n; i++) pools[data.labels[i]!]!.push(i);
  pools.forEach((p) => rng.shuffle(p));
  const p = pools.map((pool) => pool.length / n);
  const clients: Int32Array[] = [];
  for (let k = 0; k < m; k++) {
    const q = rng.dirichlet(p.map((v) => alpha * v));
    const count = Math.floor(((k + 1) * n) / m) - Math.floor((k * n) / m);
    const mine: number[] = [];
    const w = new Float64Array(c);
    for (let j = 0; j < count; j++) {
      let total = 0;
      for (let y = 0; y < c; y++) total += w[y] = pools[y]!.length > 0 ? q[y]! : 0;
      // q may put all its mass on exhausted labels: fall back to the remaining global proportions.
      if (!(total > 0)) for (let y = 0; y < c; y++) w[y] = pools[y]!.length;
      mine.push(pools[rng.categorical(w)]!.pop()!);
    }
    clients.push(Int32Array.from(mine));
  }
  return clients;
}

function quantitySkew(n: number, m: number, beta: number, rng: Random): Int32Array[] {
  if (n < m) throw invalidArgument('clients', `at most the number of examples (${n}) for quantity skew`, m);
  const share = rng.dirichlet(new Float64Array(m).fill(beta));
  const extra = n - m;
  const raw = Array.from(share, (s) => s * extra);
  const sizes = raw.map((v) => 1 + Math.floor(v));
  // Largest remainders get the examples lost to flooring.
  let left = n - sizes.reduce((s, v) => s + v, 0);
  const byRemainder = raw.map((v, k) => [v - Math.floor(v), k] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let j = 0; left > 0; j++, left--) sizes[byRemainder[j % m]![1]]! += 1;
  const order = Array.from({ length: n }, (_, i) => i);
  rng.shuffle(order);
  let at = 0;
  return sizes.map((s) => {
    const part = Int32Array.from(order.slice(at, at + s));
    at += s;
    return part;
  });
}

function natural(data: Dataset, owners: Owners | undefined, m: number): Int32Array[] {
  if (!owners) {
    const expected = `'natural' only for a dataset with owners, given as options.owners (none for ${data.name})`;
    throw invalidArgument('partition', expected, 'natural');
  }
  checkOwners('options.owners', owners, data.size);
  const byGroup = new Map<number, number[]>();
  owners.ids.forEach((g, i) => {
    const list = byGroup.get(g);
    if (list) list.push(i);
    else byGroup.set(g, [i]);
  });
  const groups = [...byGroup.entries()].sort((a, b) => b[1].length - a[1].length || a[0] - b[0]).map((e) => e[1]);
  if (m >= groups.length) return groups.map((g) => Int32Array.from(g));
  const bins: number[][] = Array.from({ length: m }, () => []);
  for (const g of groups) {
    let smallest = 0;
    for (let k = 1; k < m; k++) if (bins[k]!.length < bins[smallest]!.length) smallest = k;
    bins[smallest]!.push(...g);
  }
  return bins.map((b) => Int32Array.from(b.sort((x, y) => x - y)));
}

export function partitionData(data: Dataset, options: PartitionOptions): Partition {
  labelledDataset('data', data);
  requiredObject('options', options);
  const m = options.clients;
  if (options.seed !== undefined && !Number.isSafeInteger(options.seed)) {
    throw invalidType('options.seed', 'a safe integer', options.seed);
  }
  const n = data.size;
  // 'natural' lowers M to the number of owners, so any positive M is fine there.
  if (!Number.isSafeInteger(m) || m < 1 || (m > n && options.kind !== 'natural'))
    throw invalidArgument('clients', `an integer in [1, ${n}]`, m);
  const rng = new Random(options.seed ?? 0);
  let clients: Int32Array[];
  switch (options.kind) {
    case 'iid': {
      const order = Array.from({ length: n }, (_, i) => i);
      rng.shuffle(order);
      clients = evenSplit(order, m);
      break;
    }
    case 'label': {
      const alpha = options.alpha ?? 0.5;
      positiveFinite('options.alpha', alpha);
      clients = labelSkew(data, m, alpha, rng);
      break;
    }
    case 'quantity': {
      const beta = options.beta ?? 0.5;
      positiveFinite('options.beta', beta);
      clients = quantitySkew(n, m, beta, rng);
      break;
    }
    case 'natural':
      clients = natural(data, options.owners, m);
      break;
    default:
      throw invalidArgument('kind', '"iid", "label", "quantity" or "natural"', options.kind);
  }
  return {
    kind: options.kind,
    clients,
    sizes: clients.map((c) => c.length),
    labelHistograms: histograms(data, clients),
  };
}
