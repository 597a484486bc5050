// DP-AdaFEST: sparsity-preserving DP-SGD for an embedding table (Ghazi, Huang, Kamath, Kumar,
// Manurangsi, Sinha and Zhang, "Sparsity-Preserving Differentially Private Training of Large
// Embedding Models", NeurIPS 2023, Algorithm 2; arXiv:2311.08357).
//
// Per logical batch each example's contribution map v_i ∈ {0,1}^rows (the table rows its bag
// touches) is clipped to L2 norm C₁ (v_i · min(1, C₁/‖v_i‖), ‖v_i‖ = √(distinct rows)) and summed;
// N(0, (σ₁C₁)²) is added to every row of the sum (the rows no example touched too: a row can be
// selected by noise alone, which the guarantee needs), and the rows whose noisy count reaches τ
// are selected. The clipped gradient sum gets N(0, (σ₂C)²) on the selected rows and on every
// parameter outside the table; the other rows of the table are released as zero.
//
// Accounting: map (sensitivity C₁, std σ₁C₁) and gradient (sensitivity C, std σ₂C) are computed
// on the same Poisson sample: one Gaussian mechanism on the pair, whose whitened sensitivity is
// √(σ₁⁻² + σ₂⁻²) (the paper's privacy analysis composes the two Gaussians this way; the same split
// as tensorflow_privacy's sparsity_preserving_noise.split_noise_multiplier). With the ratio
// r = σ₁/σ₂ fixed, σ₂ = σ·√(1 + r⁻²) and σ₁ = σ·√(1 + r²) make that exactly 1/σ: a step costs one
// subsampled Gaussian at the optimizer's σ — the σ the existing calibration returns for ε — and
// not two independently subsampled events. Replace-one neighbours double both sensitivities, so
// the sampler's event (at σ/2) covers the pair as it covers the gradient alone.
import { invalidArgument, invalidType } from '../errors.js';
import { validateEvent, type DpEvent } from '../accounting/index.js';
import { normalSf } from '../accounting/special.js';
import type { RandomSource } from '../data/random.js';
import { addGaussianNoise, type GaussianNoiseOptions } from '../kernels/noise.js';
import {
  contributionMapAdd,
  gatherRows as nativeGatherRows,
  scatterRows as nativeScatterRows,
  zeroRows as nativeZeroRows,
  type ContributionMapState,
} from '../kernels/nn.js';
import { finiteNumber, positiveFinite, positiveInteger, nonNegativeInteger, requiredObject } from '../validate.js';

/** Where the embedding table lies in the flat parameter vector: rows × dim floats from offset. */
export interface EmbeddingTableLayout {
  readonly offset: number;
  readonly rows: number;
  readonly dim: number;
}

export type { EmbeddingTableView } from '../models/sequential.js';

/** DP-AdaFEST: the rows are selected each step from the batch's noisy contribution map. */
export interface AdaptiveSparseEmbeddingsOptions {
  /** The table (a built-in model's `embeddingTable`). */
  table: EmbeddingTableLayout;
  /**
   * r = σ₁/σ₂: how the step's noise multiplier σ is split between the selection (σ₁ = σ·√(1 + r²))
   * and the gradient (σ₂ = σ·√(1 + r⁻²)). Larger r: noisier selection, less gradient noise.
   */
  ratio: number;
  /** τ: a row is selected when its noisy clipped count is at least τ (in units of examples × C₁). */
  threshold: number;
  /** C₁: the L2 bound of an example's contribution map. Default 1. */
  contributionClip?: number;
}

/**
 * DP-FEST: a fixed set of rows, public or released once under the run's ledger (selectFrequentRows
 * with its frequentRowsEvent; makePrivate's frequentRows does both). Each step adds noise at the
 * full σ to these rows and every parameter outside the table; no other row ever moves.
 */
export interface FixedSparseEmbeddingsOptions {
  table: EmbeddingTableLayout;
  /** The trained rows, strictly increasing, in [0, table.rows). */
  rows: Int32Array | readonly number[];
  /**
   * The event of the release that chose `rows` (selectFrequentRows: frequentRowsEvent). The
   * optimizer charges it to its ledger when it is built, before any step, and does not count it as
   * a step. Omit for rows from a public source.
   */
  selectionEvent?: DpEvent;
}

export type SparseEmbeddingsOptions = AdaptiveSparseEmbeddingsOptions | FixedSparseEmbeddingsOptions;

/** Checked DP-AdaFEST options. */
export interface SparseEmbeddings {
  readonly kind: 'adaptive';
  readonly table: EmbeddingTableLayout;
  readonly ratio: number;
  readonly threshold: number;
  readonly contributionClip: number;
}

/** Checked DP-FEST options. */
export interface FixedSparseEmbeddings {
  readonly kind: 'fixed';
  readonly table: EmbeddingTableLayout;
  readonly rows: Int32Array;
  readonly selectionEvent: DpEvent | null;
}

/** Validates the options against the parameter vector's length (the table must lie inside it). */
export function sparseEmbeddingsOption(value: unknown, paramCount: number): SparseEmbeddings | FixedSparseEmbeddings {
  const o = requiredObject('sparseEmbeddings', value as AdaptiveSparseEmbeddingsOptions & { rows?: unknown });
  const t = o.table as Partial<EmbeddingTableLayout> | undefined;
  if (typeof t !== 'object' || t === null) {
    throw invalidType('sparseEmbeddings.table', "an object { offset, rows, dim } (a model's embeddingTable)", t);
  }
  const offset = nonNegativeInteger('sparseEmbeddings.table.offset', t.offset);
  const rows = positiveInteger('sparseEmbeddings.table.rows', t.rows);
  const dim = positiveInteger('sparseEmbeddings.table.dim', t.dim);
  if (offset + rows * dim > paramCount) {
    const expected = `inside params (offset + rows × dim ≤ ${paramCount})`;
    throw invalidArgument('sparseEmbeddings.table', expected, `${offset} + ${rows} × ${dim}`);
  }
  const table = { offset, rows, dim };
  if (o.rows !== undefined) {
    for (const key of ['ratio', 'threshold', 'contributionClip'] as const) {
      if (o[key] !== undefined) throw invalidArgument(`sparseEmbeddings.${key}`, 'absent with rows (DP-FEST)', o[key]);
    }
    const event = (o as { selectionEvent?: unknown }).selectionEvent;
    const selectionEvent = event === undefined ? null : validateEvent(event, 'sparseEmbeddings.selectionEvent');
    return { kind: 'fixed', table, rows: fixedRows(o.rows, rows, 'sparseEmbeddings.rows'), selectionEvent };
  }
  const ratio = positiveFinite('sparseEmbeddings.ratio', o.ratio);
  const threshold = finiteNumber('sparseEmbeddings.threshold', o.threshold);
  const contributionClip = positiveFinite('sparseEmbeddings.contributionClip', o.contributionClip ?? 1);
  return { kind: 'adaptive', table, ratio, threshold, contributionClip };
}

/** A copy of the fixed rows, checked strictly increasing in [0, rows). */
export function fixedRows(value: unknown, rows: number, name: string): Int32Array {
  if (!(value instanceof Int32Array) && !Array.isArray(value)) {
    throw invalidType(name, 'an Int32Array or array of row indices', value);
  }
  const list = value as ArrayLike<unknown>;
  const out = new Int32Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const j = list[i];
    const ok =
      Number.isInteger(j) && (j as number) >= 0 && (j as number) < rows && (i === 0 || (j as number) > out[i - 1]!);
    if (!ok) throw invalidArgument(`${name}[${i}]`, `strictly increasing, in [0, ${rows})`, j);
    out[i] = j as number;
  }
  return out;
}

/** σ₁ (selection) and σ₂ (gradient) from σ and r = σ₁/σ₂, with σ₁⁻² + σ₂⁻² = σ⁻² exactly. */
export function splitNoiseMultiplier(sigma: number, ratio: number): { selection: number; gradient: number } {
  positiveFinite('noiseMultiplier', sigma);
  positiveFinite('ratio', ratio);
  return { selection: sigma * Math.sqrt(1 + ratio * ratio), gradient: sigma * Math.sqrt(1 + 1 / (ratio * ratio)) };
}

/**
 * Above this probability of selecting an untouched row, every row gets its Gaussian (the skips
 * would cost more than the native draw); below it, untouched rows are drawn by geometric skips.
 */
const SKIP_MAX_P = 0.05;

/** The next success after row `from` in independent Bernoulli(p) trials over [0, rows); rows when none. */
function nextSuccess(from: number, p: number, rows: number, uniforms: RandomSource): number {
  if (p === 0) return rows;
  // Failures before the next success: ⌊ln U / ln(1 − p)⌋ with U uniform in (0, 1] (inversion).
  const gap = Math.floor(Math.log(1 - uniforms.next()) / Math.log1p(-p));
  return Math.min(rows, from + 1 + gap);
}

/**
 * The noisy contribution map of a logical batch: clipped per-example maps summed row by row as
 * batches arrive (natively, see contributionMapAdd), then noised once per step and thresholded.
 */
export class ContributionMap {
  private readonly state: ContributionMapState;

  constructor(readonly options: Omit<SparseEmbeddings, 'kind'>) {
    const { rows } = options.table;
    this.state = {
      counts: new Float32Array(rows),
      stamp: new Int32Array(rows),
      touched: new Int32Array(rows),
      example: 0,
      touchedCount: 0,
    };
  }

  /**
   * Adds each example's clipped map (weight min(1, C₁/√distinct) on each distinct row of its bag).
   * All or nothing: a bag index outside the table is refused with the map unchanged.
   */
  add(indices: Int32Array, offsets: Int32Array, batch: number): void {
    contributionMapAdd(this.state, { indices, offsets }, batch, this.options.contributionClip);
  }

  /**
   * Noises every row's count (std σ₁·C₁) and returns the selected rows in increasing order; the
   * counts are then reset for the next logical batch. `uniforms` draws which untouched rows noise
   * alone selects (see below); a seeded run passes a seeded generator, a secure one the OS CSPRNG.
   *
   * A row no example touched has count 0 and is selected when N(0, s²) ≥ τ: independently, with
   * probability p = Φ̄(τ/s). When p is small (τ well above 0) those rows are drawn directly, by
   * geometric skips between successes over all rows (Devroye, "Non-Uniform Random Variate
   * Generation", 1986, §X.2; a success on a touched row is dropped, its own draw decides): the same
   * distribution in exact arithmetic at O(touched + p·rows) cost instead of one Gaussian per row.
   * With p > SKIP_MAX_P every row gets its Gaussian, as Algorithm 2 is written.
   */
  select(selectionMultiplier: number, noise: GaussianNoiseOptions, uniforms: RandomSource): Int32Array {
    const { contributionClip, threshold } = this.options;
    const s = selectionMultiplier * contributionClip;
    const p = normalSf(threshold / s);
    if (!(p <= SKIP_MAX_P)) return this.#selectDense(s, noise);
    const { counts, touched } = this.state;
    const k = this.state.touchedCount;
    const noisy = new Float32Array(k);
    for (let i = 0; i < k; i++) noisy[i] = counts[touched[i]!]!;
    addGaussianNoise(noisy, s, noise);
    const out: number[] = [];
    for (let i = 0; i < k; i++) if (noisy[i]! >= threshold) out.push(touched[i]!);
    for (
      let j = nextSuccess(-1, p, counts.length, uniforms);
      j < counts.length;
      j = nextSuccess(j, p, counts.length, uniforms)
    ) {
      if (counts[j] === 0) out.push(j);
    }
    this.discard();
    return Int32Array.from(out).sort();
  }

  /** Algorithm 2 as written: a Gaussian on every row's count. */
  #selectDense(s: number, noise: GaussianNoiseOptions): Int32Array {
    const c = this.state.counts;
    addGaussianNoise(c, s, noise);
    const out: number[] = [];
    for (let j = 0; j < c.length; j++) if (c[j]! >= this.options.threshold) out.push(j);
    c.fill(0);
    this.state.touchedCount = 0;
    return Int32Array.from(out);
  }

  /** Every row's count plus N(0, std²), as a new array; the counts are then reset. */
  releaseCounts(std: number, noise: GaussianNoiseOptions): Float32Array {
    const out = addGaussianNoise(this.state.counts.slice(), std, noise);
    this.discard();
    return out;
  }

  /** Drops the counts of the logical batch in progress (nothing released). */
  discard(): void {
    const { counts, touched } = this.state;
    for (let i = 0; i < this.state.touchedCount; i++) counts[touched[i]!] = 0;
    this.state.touchedCount = 0;
  }

  /** Rows with a non-zero (un-noised) count in the batch so far: outside ε, for tests and diagnostics. */
  get touchedRows(): number {
    return this.state.touchedCount;
  }
}

/**
 * Below this many floats (k·dim) the rows are moved here, element by element: the native call
 * costs ~1.5 µs, more than a small copy (measured, one process a shape: 16 × 64, 64 × 16 and
 * 1000 × 1 rows faster here; 32 × 64, 128 × 16 faster natively, 1000 × 2 even).
 */
const NATIVE_MIN = 2048;

/** The check the native kernels make, for the small moves done here: sel strictly increasing in [0, rows). */
function checkSel(sel: Int32Array, rows: number): void {
  for (let i = 0; i < sel.length; i++) {
    const j = sel[i]!;
    if (j < 0 || j >= rows || (i > 0 && j <= sel[i - 1]!)) {
      throw invalidArgument(`sel[${i}]`, `strictly increasing, in [0, ${rows})`, j);
    }
  }
}

/** Copies rows `sel` (strictly increasing) of a rows × dim table into out (k × dim), in order. */
export function gatherRows(table: Float32Array, dim: number, sel: Int32Array, out: Float32Array): Float32Array {
  if (sel.length * dim >= NATIVE_MIN) return nativeGatherRows(table, dim, sel, out);
  checkSel(sel, Math.floor(table.length / dim));
  for (let i = 0; i < sel.length; i++) {
    const from = sel[i]! * dim;
    for (let k = 0; k < dim; k++) out[i * dim + k] = table[from + k]!;
  }
  return out;
}

/** Writes the k × dim rows of src back into rows `sel` (strictly increasing) of table. */
export function scatterRows(src: Float32Array, dim: number, sel: Int32Array, table: Float32Array): void {
  if (sel.length * dim >= NATIVE_MIN) {
    nativeScatterRows(src, dim, sel, table);
    return;
  }
  checkSel(sel, Math.floor(table.length / dim));
  for (let i = 0; i < sel.length; i++) {
    const to = sel[i]! * dim;
    for (let k = 0; k < dim; k++) table[to + k] = src[i * dim + k]!;
  }
}

/** Sets rows `sel` (strictly increasing) of a rows × dim table to zero. */
export function zeroRows(table: Float32Array, dim: number, sel: Int32Array): void {
  if (sel.length * dim >= NATIVE_MIN) {
    nativeZeroRows(table, dim, sel);
    return;
  }
  checkSel(sel, Math.floor(table.length / dim));
  for (const j of sel) for (let k = 0; k < dim; k++) table[j * dim + k] = 0;
}
