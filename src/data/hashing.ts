// Text features: lower-cased word tokens, unigrams and bigrams hashed (FNV-1a, 32 bit) into
// `buckets` rows — the hashing trick, so the vocabulary needs no fitting pass.
import { invalidArgument, invalidType } from '../errors.js';
import { positiveInteger } from '../validate.js';

/** Word tokens: runs of letters and digits, lower-cased. */
export function tokenize(text: string, maxTokens = 2000): string[] {
  if (typeof text !== 'string') throw invalidType('text', 'a string', text);
  positiveInteger('maxTokens', maxTokens);
  const out: string[] = [];
  for (const m of text.toLowerCase().matchAll(/[a-z0-9$!]+/g)) {
    out.push(m[0]);
    if (out.length >= maxTokens) break;
  }
  return out;
}

export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Hashed unigram and bigram ids in [0, buckets) (duplicates kept: a bag's mean weights them by count). */
export function hashNgrams(tokens: readonly string[], buckets: number, ngrams = 2): number[] {
  if (!Array.isArray(tokens)) throw invalidType('tokens', 'an array of strings', tokens);
  tokens.forEach((t: unknown, i) => {
    if (typeof t !== 'string') throw invalidType(`tokens[${i}]`, 'a string', t);
  });
  // Ids land in Int32Array bags.
  if (positiveInteger('buckets', buckets) > 2 ** 31) throw invalidArgument('buckets', 'at most 2^31', buckets);
  if (ngrams !== 1 && ngrams !== 2) throw invalidArgument('ngrams', '1 or 2', ngrams);
  const ids: number[] = [];
  for (let i = 0; i < tokens.length; i++) {
    ids.push(fnv1a(tokens[i]!) % buckets);
    if (ngrams >= 2 && i + 1 < tokens.length) ids.push(fnv1a(`${tokens[i]} ${tokens[i + 1]}`) % buckets);
  }
  return ids;
}
