// The continuous relaxation of a canary's secret slots over a hashed-n-gram bag model, for ModIvA
// (modiva.ts). Each slot i holds a probability vector q_i over the alphabet. The message is the
// template with the slots filled; tokenize/hashNgrams (src/data/hashing.ts) turn it into unigram
// and bigram rows, and a feature that reads slots S (a token holding slots, or a bigram touching
// one) takes a different hashed row for every assignment a of S. The relaxed bag holds every such
// row with weight c·Π_{i∈S} q_i(a_i) (c the model's combiner weight: 1/n under 'mean' for the n
// features of the message, 1/√n under 'sqrtn', 1 under 'sum'), and each slot-free row with weight c:
// exactly E_{s∼q}[bag(s)] when the slots are drawn independently from q. The first layer is linear
// in the bag, so its output is the expected embedding (the "weighted sum of vocabulary embeddings"
// of Parikh, Dupuy and Gupta 2022, here over hashed rows and their n-grams), and at a one-hot q the
// relaxed bag is the true message's bag. The gradient with respect to q_i(a) is, by the chain rule
// through w_e = c·Π q, Σ over the rows e whose assignment has a at slot i of ∂J/∂w_e · c·Π_{j≠i} q_j.
import { invalidArgument } from '../errors.js';
import { fnv1a, tokenize } from '../data/hashing.js';

/** A token of the filled template: fixed text, or the concatenation of the symbols of some slots. */
type Item = { text: string } | { slots: number[] };

interface Feature {
  /** The slots this feature reads, in the order of the mixed-radix enumeration (first = fastest). */
  slots: number[];
  /** First entry of its rows in the relaxed bag. */
  start: number;
  /** |alphabet|^slots.length rows (1 for a slot-free feature). */
  count: number;
}

/** Rows in the relaxed bag of one message, in all: a bound on memory and on the time of one step. */
export const MAX_RELAXED_ROWS = 2 ** 22;

export class SlotRelaxation {
  /** The relaxed bag's rows (hashed ids in [0, buckets)), one per (feature, assignment). */
  readonly rows: Int32Array;
  /** The combiner weight c of one feature of a message. */
  readonly featureWeight: number;
  private readonly features: Feature[];

  constructor(
    readonly prefix: string,
    readonly suffix: string,
    readonly slots: number,
    readonly alphabet: readonly string[],
    readonly separator: string,
    readonly buckets: number,
    readonly ngrams: 1 | 2,
    combiner: 'mean' | 'sqrtn' | 'sum',
  ) {
    const items: Item[] = tokenize(prefix, MAX_TOKENS).map((text) => ({ text }));
    if (separator === '') items.push({ slots: Array.from({ length: slots }, (_, i) => i) });
    else for (let i = 0; i < slots; i++) items.push({ slots: [i] });
    for (const text of tokenize(suffix, MAX_TOKENS)) items.push({ text });
    if (items.length > MAX_TOKENS) throw invalidArgument('template', `at most ${MAX_TOKENS} tokens`, items.length);
    const features: Feature[] = [];
    const groups: Item[][] = [];
    let total = 0;
    items.forEach((item, i) => {
      groups.push([item]);
      if (ngrams === 2 && i + 1 < items.length) groups.push([item, items[i + 1]!]);
    });
    for (const g of groups) {
      const s = g.flatMap((item) => ('slots' in item ? item.slots : []));
      const count = alphabet.length ** s.length;
      features.push({ slots: s, start: total, count });
      total += count;
      if (total > MAX_RELAXED_ROWS) {
        const expected = `small enough for at most ${MAX_RELAXED_ROWS} relaxed rows (|alphabet|^slots per n-gram)`;
        throw invalidArgument('slots', expected, slots);
      }
    }
    this.features = features;
    const n = features.length;
    this.featureWeight = combiner === 'mean' ? 1 / n : combiner === 'sqrtn' ? 1 / Math.sqrt(n) : 1;
    this.rows = new Int32Array(total);
    const a = new Int32Array(slots);
    features.forEach((f, k) => {
      for (let e = 0; e < f.count; e++) {
        this.decode(f, e, a);
        const text = groups[k]!.map((item) => this.itemText(item, a)).join(' ');
        this.rows[f.start + e] = fnv1a(text) % buckets;
      }
    });
  }

  /** Features (unigrams and bigrams) of one message: the real bag's length. */
  get featureCount(): number {
    return this.features.length;
  }

  /** The message's text for the symbol indices `a` (one per slot). */
  secretText(a: ArrayLike<number>): string {
    return Array.from({ length: this.slots }, (_, i) => this.alphabet[a[i]!]!).join(this.separator);
  }

  private itemText(item: Item, a: Int32Array): string {
    return 'text' in item ? item.text : item.slots.map((i) => this.alphabet[a[i]!]!).join('');
  }

  /** Writes entry e's symbol index into a[slot] for each slot the feature reads. */
  private decode(f: Feature, e: number, a: Int32Array): void {
    const base = this.alphabet.length;
    let k = e;
    for (const s of f.slots) {
      a[s] = k % base;
      k = Math.floor(k / base);
    }
  }

  /** The relaxed bag's weights for the slot distributions q (one Float64Array per slot), into out. */
  weights(q: readonly Float64Array[], out: Float32Array): void {
    const base = this.alphabet.length;
    const c = this.featureWeight;
    for (const f of this.features) {
      for (let e = 0; e < f.count; e++) {
        let w = c;
        let k = e;
        for (const s of f.slots) {
          w *= q[s]![k % base]!;
          k = Math.floor(k / base);
        }
        // Flushed below 1e-30: negligible, and float32 subnormals would slow the forward many-fold.
        out[f.start + e] = w < 1e-30 ? 0 : w;
      }
    }
  }

  /**
   * ∂J/∂q_i(a) from ∂J/∂w_e (dw, one value per row, aligned with rows), added into grad (one Float64Array
   * per slot). Float64 sums; the product of the other slots' probabilities formed directly (no division by q).
   */
  slotGradient(q: readonly Float64Array[], dw: ArrayLike<number>, grad: Float64Array[]): void {
    const base = this.alphabet.length;
    const c = this.featureWeight;
    const digits: number[] = [];
    for (const f of this.features) {
      const m = f.slots.length;
      if (m === 0) continue;
      for (let e = 0; e < f.count; e++) {
        const g = dw[f.start + e]!;
        if (g === 0) continue;
        let k = e;
        for (let p = 0; p < m; p++) {
          digits[p] = k % base;
          k = Math.floor(k / base);
        }
        for (let p = 0; p < m; p++) {
          let w = c * g;
          for (let r = 0; r < m; r++) if (r !== p) w *= q[f.slots[r]!]![digits[r]!]!;
          grad[f.slots[p]!]![digits[p]!]! += w;
        }
      }
    }
  }
}

/** tokenize's default cap: longer templates would be truncated by the featuriser. */
const MAX_TOKENS = 2000;
