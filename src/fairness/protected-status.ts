// Labels for a protected-status classifier on text (what prediction sensitivity weighs features by): from the
// gendered terms of gender-swap.ts. 'gendered': 1 when the text holds any gendered term (hasGenderedTerm);
// 'female': 1 when its female terms outnumber its male ones (ties and texts without any: 0). A dpfl model is
// trained on them with the ordinary trainer (dpfl/dpsgd's Trainer with a NonPrivateOptimizer); see
// docs/fairness.md. Pure TypeScript.
import { invalidType } from '../errors.js';
import { oneOf } from '../validate.js';
import { genderedTerms, hasGenderedTerm } from './gender-swap.js';

export type ProtectedStatusRule = 'gendered' | 'female';

const { female, male } = genderedTerms();
const FEMALE = new Set(female);
const MALE = new Set(male);
const WORD = /\p{L}+/gu;

/** One label (0 or 1) per text under `rule` (default 'gendered'). */
export function protectedStatusLabels(texts: readonly string[], rule: ProtectedStatusRule = 'gendered'): Int32Array {
  if (!Array.isArray(texts)) throw invalidType('texts', 'an array of strings', texts);
  const r = oneOf('rule', rule, ['gendered', 'female'] as const);
  return Int32Array.from(texts, (t: unknown, i) => {
    if (typeof t !== 'string') throw invalidType(`texts[${i}]`, 'a string', t);
    if (r === 'gendered') return hasGenderedTerm(t) ? 1 : 0;
    let balance = 0;
    for (const m of t.matchAll(WORD)) {
      const w = m[0].toLowerCase();
      if (FEMALE.has(w)) balance++;
      else if (MALE.has(w)) balance--;
    }
    return balance > 0 ? 1 : 0;
  });
}
