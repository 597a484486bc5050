// DP-FEST: sparsity-preserving DP-SGD on a fixed set of frequent embedding rows (Ghazi, Huang,
// Kamath, Kumar, Manurangsi, Sinha and Zhang, "Sparsity-Preserving Differentially Private Training
// of Large Embedding Models", NeurIPS 2023, arXiv:2311.08357: DP-FEST trains only pre-selected
// frequent rows, so each step's noise covers those rows, not the vocabulary).
//
// The rows are chosen once, privately, from the training set: each example's contribution map
// (the distinct rows of its bag, each with weight min(1, C₁/√distinct): L2 norm ≤ C₁, the map
// DP-AdaFEST clips per batch) is summed over the whole set, N(0, (σ_f·C₁)²) is added to every row's
// count (the Gaussian mechanism, sensitivity C₁ under add/remove-one, 2C₁ under replace-one), and
// the k rows with the largest noisy counts are kept (post-processing). That release is one
// Gaussian event in the run's ledger, composed with its steps (makePrivate calibrates σ for both;
// the optimizer charges it when built). The steps then add noise at the full σ to the kept rows and
// every parameter outside the table; the other rows are released as zero and never move.
import { gaussian, type DpEvent } from '../accounting/index.js';
import { invalidArgument } from '../errors.js';
import type { GaussianNoiseOptions } from '../kernels/noise.js';
import { positiveFinite, positiveInteger, requiredObject } from '../validate.js';
import { ContributionMap } from './sparse-embeddings.js';

export interface FrequentRowsOptions {
  /** k: how many rows to keep (the largest noisy counts). */
  count: number;
  /** σ_f: the count noise's std in units of C₁. Larger: a cheaper event, a noisier choice. */
  noiseMultiplier: number;
  /** C₁: the L2 bound of an example's contribution map. Default 1. */
  contributionClip?: number;
}

/** Checked options, with k at most the table's rows. */
export function frequentRowsOption(value: unknown, rows: number): Required<FrequentRowsOptions> {
  const o = requiredObject('frequentRows', value as FrequentRowsOptions);
  const count = positiveInteger('frequentRows.count', o.count);
  if (count > rows) throw invalidArgument('frequentRows.count', `at most the table's rows (${rows})`, count);
  return {
    count,
    noiseMultiplier: positiveFinite('frequentRows.noiseMultiplier', o.noiseMultiplier),
    contributionClip: positiveFinite('frequentRows.contributionClip', o.contributionClip ?? 1),
  };
}

/**
 * The event the selection releases: a Gaussian of multiplier σ_f for add/remove-one neighbours,
 * σ_f/2 for replace-one (a replaced example moves the counts by up to 2C₁).
 */
export function frequentRowsEvent(noiseMultiplier: number, neighbours: 'add-remove' | 'replace-one'): DpEvent {
  const s = positiveFinite('noiseMultiplier', noiseMultiplier);
  if (neighbours !== 'add-remove' && neighbours !== 'replace-one') {
    throw invalidArgument('neighbours', '"add-remove" or "replace-one"', neighbours);
  }
  return gaussian({ noiseMultiplier: neighbours === 'replace-one' ? s / 2 : s });
}

/**
 * The k rows of a `rows`-row table with the largest noisy clipped counts over every example of
 * `bags` (CSR: example i holds indices[offsets[i] .. offsets[i + 1])), in increasing order. Its
 * frequentRowsEvent belongs in the run's ledger: give it to the optimizer as
 * sparseEmbeddings.selectionEvent, which charges it (makePrivate's frequentRows does both).
 */
export function selectFrequentRows(
  bags: { indices: Int32Array; offsets: Int32Array },
  rows: number,
  options: FrequentRowsOptions,
  noise: GaussianNoiseOptions = {},
): Int32Array {
  requiredObject('bags', bags);
  positiveInteger('rows', rows);
  if (!(bags.indices instanceof Int32Array)) throw invalidArgument('bags.indices', 'an Int32Array', bags.indices);
  if (!(bags.offsets instanceof Int32Array) || bags.offsets.length < 1) {
    throw invalidArgument('bags.offsets', 'an Int32Array of examples + 1 offsets', bags.offsets);
  }
  const o = frequentRowsOption(options, rows);
  const examples = bags.offsets.length - 1;
  for (let i = 0; i <= examples; i++) {
    const v = bags.offsets[i]!;
    if (!(v >= (i === 0 ? 0 : bags.offsets[i - 1]!) && v <= bags.indices.length)) {
      throw invalidArgument(
        `bags.offsets[${i}]`,
        `non-decreasing and at most indices.length (${bags.indices.length})`,
        v,
      );
    }
  }
  const map = new ContributionMap({
    table: { offset: 0, rows, dim: 1 },
    ratio: 1,
    threshold: 0,
    contributionClip: o.contributionClip,
  });
  map.add(bags.indices, bags.offsets, examples);
  const noisy = map.releaseCounts(o.noiseMultiplier * o.contributionClip, noise);
  // Largest noisy counts first; a tie goes to the lower row (the order is a function of the release).
  const order = Int32Array.from({ length: rows }, (_, j) => j).sort((a, b) => noisy[b]! - noisy[a]! || a - b);
  return order.slice(0, o.count).sort();
}
