// The counterfactual gap (issue 17 item 2): how much a classifier's positive-class probability moves when
// each text is replaced by its gender-swapped twin — the counterfactual token fairness gap of Garg et al.,
// "Counterfactual Fairness in Text Classification through Robustness" (AIES 2019), mean |f(x) − f(x')|,
// with the share of predictions that flip across the threshold. Any model: it only needs predictions.
import { invalidArgument, invalidType } from '../errors.js';
import { optionsObject, unitInterval } from '../validate.js';
import { type FirstNamePairs, genderSwap, hasGenderedTerm } from './gender-swap.js';

/** Probability of the positive class for each text, in order (one batch: originals then twins). */
export type PositiveProbability = (
  texts: string[],
) => Promise<Float64Array | Float32Array> | Float64Array | Float32Array;

export interface CounterfactualOptions {
  /** A prediction is positive when p >= threshold (default 0.5). */
  threshold?: number;
  /** First names to swap too (loadFirstNamePairs()); texts holding only a paired name then count. */
  names?: FirstNamePairs;
}

export interface CounterfactualGap {
  /** How many texts hold a gendered term (the others are skipped: their twin is the same text). */
  examples: number;
  /** Index in `texts` of each example. */
  indices: number[];
  /** |p − p'| for each example, in the order of `indices`. */
  absDeltas: Float64Array;
  /** Share of examples whose thresholded prediction differs from its twin's (NaN when examples is 0). */
  flipRate: number;
  /** Mean |p − p'| over the examples (NaN when examples is 0). */
  meanAbsDelta: number;
  /** Largest |p − p'| (NaN when examples is 0). */
  maxAbsDelta: number;
}

function stringArray(name: string, value: unknown): string[] {
  if (!Array.isArray(value)) throw invalidType(name, 'an array of strings', value);
  value.forEach((t, i) => {
    if (typeof t !== 'string') throw invalidType(`${name}[${i}]`, 'a string', t);
  });
  return value;
}

function probabilities(value: unknown, length: number): Float64Array | Float32Array {
  if (!(value instanceof Float64Array || value instanceof Float32Array)) {
    throw invalidType('predict(texts)', 'a Float64Array or Float32Array', value);
  }
  if (value.length !== length) {
    throw invalidArgument('predict(texts)', `of length ${length} (one probability per text)`, value);
  }
  for (let i = 0; i < length; i++) {
    const p = value[i] as number;
    if (Number.isNaN(p)) throw invalidArgument(`predict(texts)[${i}]`, 'a probability', p, 'ERR_DPFL_NON_FINITE');
    if (!(p >= 0 && p <= 1)) throw invalidArgument(`predict(texts)[${i}]`, 'a probability in [0, 1]', p);
  }
  return value;
}

/**
 * The counterfactual gap of `predict` on `texts`: each text holding a gendered term is scored beside its
 * genderSwap twin (one call to predict, originals then twins); texts without one are skipped.
 */
export async function counterfactualGap(
  texts: string[],
  predict: PositiveProbability,
  options?: CounterfactualOptions,
): Promise<CounterfactualGap> {
  stringArray('texts', texts);
  if (typeof predict !== 'function') throw invalidType('predict', 'a function', predict);
  const opts = optionsObject('options', options);
  const threshold = opts.threshold === undefined ? 0.5 : unitInterval('options.threshold', opts.threshold);

  const swap = opts.names === undefined ? {} : { names: opts.names };
  const indices: number[] = [];
  texts.forEach((t, i) => {
    if (hasGenderedTerm(t, swap)) indices.push(i);
  });
  const n = indices.length;
  const absDeltas = new Float64Array(n);
  if (n === 0) return { examples: 0, indices, absDeltas, flipRate: NaN, meanAbsDelta: NaN, maxAbsDelta: NaN };

  const originals = indices.map((i) => texts[i] as string);
  const batch = [...originals, ...originals.map((t) => genderSwap(t, swap))];
  const p = probabilities(await predict(batch), batch.length);
  let flips = 0;
  let sum = 0;
  let max = 0;
  for (let k = 0; k < n; k++) {
    const a = p[k] as number;
    const b = p[n + k] as number;
    if (a >= threshold !== b >= threshold) flips++;
    const d = Math.abs(a - b);
    absDeltas[k] = d;
    sum += d;
    if (d > max) max = d;
  }
  return { examples: n, indices, absDeltas, flipRate: flips / n, meanAbsDelta: sum / n, maxAbsDelta: max };
}
