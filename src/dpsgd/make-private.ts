// One entry point (as Opacus's make_private): from a target (ε, δ) and a training length, the
// sampler, the calibrated noise multiplier, a budget-guarded accountant and the DP optimizer.
import {
  Accountant,
  calibrate,
  calibrateNoiseMultiplier,
  composed,
  selfComposed,
  type AccountantKind,
  type DpEvent,
} from '../accounting/index.js';
import { invalidArgument, invalidType } from '../errors.js';
import { positiveFinite } from '../validate.js';
import type { ClippingKind, ClippingRule } from './clipping.js';
import { DpOptimizer, type SparseEmbeddingsOptions, type UpdateRule } from './optimizer.js';
import { FixedSizeSampler, PoissonSampler, type Sampler } from './sampler.js';
import {
  frequentRowsEvent,
  frequentRowsOption,
  selectFrequentRows,
  type FrequentRowsOptions,
} from './frequent-rows.js';
import type { EmbeddingTableLayout } from './sparse-embeddings.js';

export interface MakePrivateOptions {
  /**
   * A built-in model: params and groupEnds are then the model's (per-layer clipping follows its
   * layers). Given with params or groupEnds, those must be the model's.
   */
  model?: { readonly params: Float32Array; readonly groupEnds: readonly number[] };
  params?: Float32Array;
  /** Per-layer clipping groups; with accumulateModel, the model's groupEnds (or a coarsening). */
  groupEnds?: readonly number[];
  datasetSize: number;
  /** Poisson sampling rate q; or give batchSize (q = batchSize / datasetSize). */
  sampleRate?: number;
  batchSize?: number;
  /** 'poisson' (default) or 'fixed-size' (uniform batches of exactly batchSize). */
  sampling?: 'poisson' | 'fixed-size';
  /** Target ε: σ is calibrated so that the whole run spends at most it. Or give noiseMultiplier. */
  targetEpsilon?: number;
  noiseMultiplier?: number;
  delta: number;
  /** Training length: epochs (steps = epochs / q, rounded) or steps. */
  epochs?: number;
  steps?: number;
  maxGradNorm: number;
  clipping?: ClippingRule | ClippingKind;
  update: UpdateRule;
  accountant?: AccountantKind;
  /** Seeds the sampler and the noise (reproducible, not private against an adversary who knows it). */
  seed?: number;
  /** The optimizer's step reports leave out the un-noised counts (outside ε); see StepReport. */
  withholdUnnoisedStats?: boolean;
  /**
   * DP-AdaFEST (DpOptimizer's sparseEmbeddings). The calibrated σ is the σ each step is accounted
   * at; the optimizer splits it into the selection's σ₁ and the gradient's σ₂ (σ₁⁻² + σ₂⁻² = σ⁻²).
   */
  sparseEmbeddings?: SparseEmbeddingsOptions;
  /**
   * DP-FEST (frequent-rows.ts): before training, the k rows of `table` with the largest noisy
   * clipped counts over the training set's `bags` are released once (a Gaussian event charged to
   * the run's ledger first, and part of the calibration: σ is found for that event composed with
   * the steps); the optimizer then trains only those rows. Exclusive with sparseEmbeddings.
   */
  frequentRows?: FrequentRowsOptions & {
    table: EmbeddingTableLayout;
    /** The training set's bags (CSR over every example the sampler draws from). */
    bags: { indices: Int32Array; offsets: Int32Array };
  };
}

export interface PrivateSetup {
  optimizer: DpOptimizer;
  sampler: Sampler;
  noiseMultiplier: number;
  steps: number;
  accountant: Accountant;
  delta: number;
  /** With frequentRows: the rows released and trained (increasing). */
  frequentRows?: Int32Array;
}

/** The model's params and groups, refusing params or groupEnds given beside it that are not the model's. */
function layout(options: MakePrivateOptions): { params: Float32Array; groupEnds?: readonly number[] } {
  const model = options.model;
  if (model === undefined) {
    return { params: options.params as Float32Array, ...(options.groupEnds ? { groupEnds: options.groupEnds } : {}) };
  }
  const shaped = typeof model === 'object' && model !== null && model.params instanceof Float32Array;
  if (!shaped || !Array.isArray(model.groupEnds)) {
    throw invalidType('model', 'a model with params and groupEnds', model);
  }
  if (options.params !== undefined && options.params !== model.params) {
    throw invalidArgument('params', "the model's params (or absent)", options.params);
  }
  const ends = options.groupEnds;
  if (ends !== undefined && (ends.length !== model.groupEnds.length || ends.some((e, i) => e !== model.groupEnds[i]))) {
    throw invalidArgument('groupEnds', `the model's groupEnds [${model.groupEnds.join(', ')}] (or absent)`, ends);
  }
  return { params: model.params, groupEnds: model.groupEnds };
}

export function makePrivate(options: MakePrivateOptions): PrivateSetup {
  if (typeof options !== 'object' || options === null) throw invalidType('options', 'an object', options);
  const n = options.datasetSize;
  if (!Number.isSafeInteger(n) || n <= 0) throw invalidArgument('datasetSize', 'a positive integer', n);
  const delta = options.delta;
  if (typeof delta !== 'number' || !(delta > 0 && delta < 1)) throw invalidArgument('delta', 'in (0, 1)', delta);
  const sampling = options.sampling ?? 'poisson';
  if (sampling !== 'poisson' && sampling !== 'fixed-size')
    throw invalidArgument('sampling', '"poisson" or "fixed-size"', sampling);
  let q: number;
  if (options.sampleRate !== undefined) {
    q = options.sampleRate;
    if (typeof q !== 'number' || !(q > 0 && q <= 1)) throw invalidArgument('sampleRate', 'in (0, 1]', q);
  } else {
    const b = options.batchSize;
    if (!Number.isSafeInteger(b) || (b as number) <= 0 || (b as number) > n)
      throw invalidArgument('batchSize', `an integer in [1, datasetSize = ${n}] (or give sampleRate)`, b);
    q = (b as number) / n;
  }
  let steps: number;
  if (options.steps !== undefined) {
    steps = options.steps;
    if (!Number.isSafeInteger(steps) || steps <= 0) throw invalidArgument('steps', 'a positive integer', steps);
  } else {
    const epochs = positiveFinite('epochs', options.epochs);
    steps = Math.max(1, Math.round(epochs / q));
  }
  const sampler: Sampler =
    sampling === 'poisson'
      ? new PoissonSampler({
          datasetSize: n,
          sampleRate: q,
          ...(options.seed !== undefined ? { seed: options.seed } : {}),
        })
      : new FixedSizeSampler({
          datasetSize: n,
          batchSize: Math.max(1, Math.round(q * n)),
          ...(options.seed !== undefined ? { seed: options.seed + 1 } : {}),
        });
  const kind = options.accountant ?? 'rdp';
  const base = {
    ...layout(options),
    maxGradNorm: options.maxGradNorm,
    expectedBatchSize: sampler.expectedBatchSize,
    event: (s: number) => sampler.event(s),
    update: options.update,
    ...(options.clipping ? { clipping: options.clipping } : {}),
    ...(options.withholdUnnoisedStats !== undefined ? { withholdUnnoisedStats: options.withholdUnnoisedStats } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.sparseEmbeddings !== undefined ? { sparseEmbeddings: options.sparseEmbeddings } : {}),
  };
  // DP-FEST's selection: computed now (nothing leaves this function before it is charged below).
  let selection: { rows: Int32Array; event: DpEvent } | undefined;
  if (options.frequentRows !== undefined) {
    if (options.sparseEmbeddings !== undefined) {
      throw invalidArgument('frequentRows', 'absent with sparseEmbeddings (one sparse mode)', 'given');
    }
    const fr = options.frequentRows;
    const table = fr?.table;
    if (typeof table !== 'object' || table === null) {
      throw invalidType('frequentRows.table', "an object { offset, rows, dim } (a model's embeddingTable)", table);
    }
    const checked = frequentRowsOption(fr, table.rows);
    if (fr.bags?.offsets?.length !== n + 1) {
      throw invalidArgument(
        'frequentRows.bags.offsets',
        `datasetSize + 1 = ${n + 1} offsets`,
        fr.bags?.offsets?.length,
      );
    }
    const noise = options.seed === undefined ? {} : { seed: options.seed, stream: 3 };
    selection = {
      rows: selectFrequentRows(fr.bags, table.rows, checked, noise),
      event: frequentRowsEvent(checked.noiseMultiplier, sampling === 'poisson' ? 'add-remove' : 'replace-one'),
    };
    // The optimizer charges the selection to the run's ledger when it is built (not as a step).
    base.sparseEmbeddings = {
      table: { offset: table.offset, rows: table.rows, dim: table.dim },
      rows: selection.rows,
      selectionEvent: selection.event,
    };
  }
  let sigma: number;
  let budget: { epsilon: number; delta: number } | undefined;
  if (options.noiseMultiplier !== undefined) {
    if (options.targetEpsilon !== undefined)
      throw invalidArgument('noiseMultiplier', 'absent when targetEpsilon is given', options.noiseMultiplier);
    sigma = positiveFinite('noiseMultiplier', options.noiseMultiplier);
  } else {
    const target = positiveFinite('targetEpsilon', options.targetEpsilon);
    budget = { epsilon: target, delta };
    // One step is the sampler's event at σ under every clipping rule (adaptive clipping's sum and
    // count form one Gaussian mechanism of multiplier σ: DpOptimizer.stepEvent).
    // Poisson keeps calibrateNoiseMultiplier (its windowed RDP search fixes today's σ bit for bit); every other
    // sampler goes through the generic calibration of its own event.
    const before = selection === undefined ? [] : [selection.event];
    sigma =
      sampling === 'poisson' && selection === undefined
        ? calibrateNoiseMultiplier({ epsilon: target, delta, sampleRate: q, steps, accountant: kind }).noiseMultiplier
        : calibrate({
            eventOf: (s) => composed([...before, selfComposed(sampler.event(s), steps)]),
            targetEpsilon: target,
            delta,
            accountant: kind,
          }).noiseMultiplier;
  }
  // The guard is the accountant's: certifying the calibrated plan once lets every step of the run
  // that stays within it pass without recomputing ε; anything beyond (other events, more steps) is
  // checked exactly against the ledger.
  const accountant = new Accountant({ accountant: kind, ...(budget ? { budget } : {}) });
  const optimizer = new DpOptimizer({ ...base, noiseMultiplier: sigma, accountant });
  // A count noise too small for σ (adaptive clipping, σ_b ≤ σ/2) is refused here, not at step 1.
  optimizer.gradientNoiseMultiplier(0);
  const plan = [{ event: optimizer.stepEvent(0), count: steps }];
  if (budget) accountant.certify(selection === undefined ? plan : [{ event: selection.event, count: 1 }, ...plan]);
  if (selection === undefined) return { optimizer, sampler, noiseMultiplier: sigma, steps, accountant, delta };
  return { optimizer, sampler, noiseMultiplier: sigma, steps, accountant, delta, frequentRows: selection.rows };
}
