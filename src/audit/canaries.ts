// Canaries and exposure (Carlini, Liu, Erlingsson, Kos and Song 2019, "The Secret Sharer:
// Evaluating and Testing Unintended Memorization in Neural Networks", USENIX Security, §3–4).
// A canary is a secret of a known format ("my pin is 4821") inserted into the training data a
// chosen number of times. After training, every candidate secret of the format is scored by the
// model's loss on it, and the true secret's rank r among the |R| candidates (rank 1 = lowest
// loss) gives its exposure
//   exposure = log2 |R| − log2 r,
// from 0 (no better than chance) up to log2 |R| (the secret is the model's first guess: extracted).
// Several canaries share one format; the other planted secrets are left out of each canary's
// candidate set (each canary is audited as if it were the only one).
import { invalidArgument, invalidType } from '../errors.js';
import { integerIn, numberArray, requiredObject } from '../validate.js';
import { Random } from './train-adapter.js';

export interface Canary {
  secret: number;
  text: string;
  repeats: number;
  /** The class label the canary messages carry. */
  label: number;
}

/** The text of the canary format for a secret: "my pin is " and the secret as `digits` digits. */
export function canaryText(secret: number, digits: number): string {
  integerIn('digits', digits, 1, MAX_DIGITS, `an integer in [1, ${MAX_DIGITS}]`);
  integerIn('secret', secret, 0, 10 ** digits - 1, `an integer in [0, 10^${digits})`);
  return formatSecret(secret, digits);
}

/** The canaries' text with `{}` where the secret goes (the white-box attack's template: modiva.ts). */
export const CANARY_TEMPLATE = 'my pin is {}';

/** A secret as the text of its slots: `digits` digits, zero-padded. */
export function secretDigits(secret: number, digits: number): string {
  return String(secret).padStart(digits, '0');
}

function formatSecret(secret: number, digits: number): string {
  return CANARY_TEMPLATE.replace('{}', secretDigits(secret, digits));
}

const MAX_DIGITS = 8;
/** Canaries per call: distinct secrets are tracked in a Set, which V8 caps at 2^24 entries. */
const MAX_CANARIES = 2 ** 20;

/**
 * `perRepeat` canaries for each repetition count, with distinct random secrets in [0, 10^digits).
 * Labels cycle through the classes within each repetition count, so the shared prefix ("my pin
 * is") carries no label information when perRepeat is a multiple of `classes`: only the secret
 * itself can tie a canary to its label, and that is what a model must memorise to expose it.
 */
export function makeCanaries(options: {
  perRepeat: number;
  repeats: readonly number[];
  digits?: number;
  seed?: number;
  classes?: number;
}): Canary[] {
  const o = requiredObject('options', options);
  const classes = o.classes === undefined ? 2 : integerIn('classes', o.classes, 2, 2 ** 31 - 1, 'an integer ≥ 2');
  const digits =
    o.digits === undefined ? 4 : integerIn('digits', o.digits, 1, MAX_DIGITS, `an integer in [1, ${MAX_DIGITS}]`);
  const perRepeat = integerIn('perRepeat', o.perRepeat, 1, Number.MAX_SAFE_INTEGER, 'a positive integer');
  const repeatsIn: unknown = o.repeats;
  if (!Array.isArray(repeatsIn)) throw invalidType('repeats', 'a non-empty list of positive integers', repeatsIn);
  if (repeatsIn.length === 0) throw invalidArgument('repeats', 'a non-empty list of positive integers', repeatsIn);
  const space = 10 ** digits;
  const most = Math.min(Math.floor(space / 2), MAX_CANARIES);
  // Checked before the list is read: a sparse list of a billion entries is refused at once.
  if (perRepeat * repeatsIn.length > most) {
    const each = Math.floor(most / repeatsIn.length);
    throw invalidArgument('perRepeat', `at most ${each} for ${repeatsIn.length} × ${digits}-digit secrets`, perRepeat);
  }
  const repeats = Array.from(repeatsIn as unknown[], (r, i) =>
    integerIn(`repeats[${i}]`, r, 1, Number.MAX_SAFE_INTEGER, 'a positive integer'),
  );
  const seed =
    o.seed === undefined
      ? 1
      : integerIn('seed', o.seed, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 'a safe integer');
  const rng = new Random(seed);
  const used = new Set<number>();
  const out: Canary[] = [];
  for (const r of repeats) {
    for (let k = 0; k < perRepeat; k++) {
      let s: number;
      do s = rng.below(space);
      while (used.has(s));
      used.add(s);
      out.push({ secret: s, text: formatSecret(s, digits), repeats: r, label: k % classes });
    }
  }
  return out;
}

/**
 * Rank of the secret among the candidates by loss (1 = lowest), ties counted one half (so a
 * model that scores every candidate alike gives the secret a middle rank, not rank 1), and its
 * exposure. `exclude`: candidate indices left out of the space (the other planted secrets).
 */
export function exposure(
  lossesIn: ArrayLike<number>,
  secretIndex: number,
  exclude: Iterable<number> = [],
): { rank: number; candidates: number; exposure: number } {
  const losses = numberArray('losses', lossesIn, 'an array of numbers', 'empty');
  const n = losses.length;
  integerIn('secretIndex', secretIndex, 0, n - 1, `an index in [0, ${n})`);
  const skip = new Set(excludedIndices(exclude));
  if (skip.has(secretIndex)) throw invalidArgument('exclude', 'a set without the secret itself', secretIndex);
  const own = losses[secretIndex]!;
  if (Number.isNaN(own)) throw invalidArgument(`losses[${secretIndex}]`, 'a number (not NaN)', own);
  let below = 0;
  let ties = 0;
  let candidates = 0;
  for (let i = 0; i < n; i++) {
    if (skip.has(i)) continue;
    candidates++;
    if (i === secretIndex) continue;
    const l = losses[i]!;
    if (l < own) below++;
    else if (l === own) ties++;
  }
  const rank = 1 + below + ties / 2;
  return { rank, candidates, exposure: Math.log2(candidates) - Math.log2(rank) };
}

/** exclude: an array, typed array or Set of numbers (read through the intrinsics, so a fake Set is refused). */
function excludedIndices(exclude: unknown): Float64Array {
  if (exclude instanceof Set) {
    let values: unknown[];
    try {
      values = [...setValues.call(exclude)];
    } catch {
      throw invalidType('exclude', 'an array or Set of candidate indices', exclude);
    }
    return numberArray('exclude', values, 'an array or Set of candidate indices', 'empty');
  }
  return numberArray('exclude', exclude, 'an array or Set of candidate indices', 'empty');
}

const setValues = Set.prototype.values as (this: unknown) => IterableIterator<unknown>;
