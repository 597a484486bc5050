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
import { invalidArgument } from '../errors.js';
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
  return `my pin is ${String(secret).padStart(digits, '0')}`;
}

/**
 * `perRepeat` canaries for each repetition count, with distinct random secrets in [0, 10^digits).
 * Labels cycle through the classes within each repetition count, so the shared prefix ("my pin
 * is") carries no label information when perRepeat is a multiple of `classes`: only the secret
 * itself can tie a canary to its label, and that is what a model must memorise to expose it.
 */
export function makeCanaries(options: { perRepeat: number; repeats: readonly number[]; digits?: number; seed?: number; classes?: number }): Canary[] {
  const classes = options.classes ?? 2;
  if (!Number.isSafeInteger(classes) || classes < 2) throw invalidArgument('classes', 'an integer ≥ 2', classes);
  const digits = options.digits ?? 4;
  if (!Number.isSafeInteger(digits) || digits < 1 || digits > 8) throw invalidArgument('digits', 'an integer in [1, 8]', digits);
  const { perRepeat, repeats } = options;
  if (!Number.isSafeInteger(perRepeat) || perRepeat < 1) throw invalidArgument('perRepeat', 'a positive integer', perRepeat);
  if (!Array.isArray(repeats) || repeats.length === 0) throw invalidArgument('repeats', 'a non-empty list of positive integers', repeats);
  repeats.forEach((r, i) => {
    if (!Number.isSafeInteger(r) || r < 1) throw invalidArgument(`repeats[${i}]`, 'a positive integer', r);
  });
  const space = 10 ** digits;
  if (perRepeat * repeats.length > space / 2) throw invalidArgument('perRepeat', `at most ${Math.floor(space / 2 / repeats.length)} for ${digits}-digit secrets`, perRepeat);
  const rng = new Random(options.seed ?? 1);
  const used = new Set<number>();
  const out: Canary[] = [];
  for (const r of repeats) {
    for (let k = 0; k < perRepeat; k++) {
      let s: number;
      do s = rng.below(space);
      while (used.has(s));
      used.add(s);
      out.push({ secret: s, text: canaryText(s, digits), repeats: r, label: k % classes });
    }
  }
  return out;
}

/**
 * Rank of the secret among the candidates by loss (1 = lowest), ties counted one half (so a
 * model that scores every candidate alike gives the secret a middle rank, not rank 1), and its
 * exposure. `exclude`: candidate indices left out of the space (the other planted secrets).
 */
export function exposure(losses: ArrayLike<number>, secretIndex: number, exclude: Iterable<number> = []): { rank: number; candidates: number; exposure: number } {
  const n = losses.length;
  if (!Number.isSafeInteger(secretIndex) || secretIndex < 0 || secretIndex >= n) throw invalidArgument('secretIndex', `an index in [0, ${n})`, secretIndex);
  const skip = new Set(exclude);
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
