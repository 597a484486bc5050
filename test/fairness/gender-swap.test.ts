// genderSwap against tricky sentences (case, possessives, punctuation, words that contain pronouns),
// its round trip, and the term sets.
import { describe, expect, it } from 'vitest';
import { isDpflError } from '../../src/errors.js';
import { genderedTerms, genderSwap, hasGenderedTerm } from '../../src/fairness/gender-swap.js';

// [input, expected swap]: every pair here also round-trips (checked below).
const CASES: [string, string][] = [
  ['he said', 'she said'],
  ['He said', 'She said'],
  ['HE SAID', 'SHE SAID'],
  ["She'd call him.", "He'd call her."],
  ["The man's hat and the woman's coat.", "The woman's hat and the man's coat."],
  ['Men and women, boys and girls!', 'Women and men, girls and boys!'],
  ['Mrs. Smith met Mr. Jones.', 'Mr. Smith met Mrs. Jones.'],
  ['These shells are human, the manager said.', 'These shells are human, the manager said.'],
  ['the theme', 'the theme'],
  ['I gave her the book; her book is red.', 'I gave him the book; his book is red.'],
  ['I saw her', 'I saw him'],
  ['I saw her.', 'I saw him.'],
  ['I saw her again', 'I saw him again'],
  ['Her father, her mother.', 'His mother, his father.'],
  ['The book is hers.', 'The book is his.'],
  ['His book is red.', 'Her book is red.'],
  ['He hurt himself.', 'She hurt herself.'],
  ['My husband and his brother', 'My wife and her sister'],
  ['step-father', 'step-mother'],
  ["She's the queen's niece.", "He's the king's nephew."],
  ['The actor thanked the waitress.', 'The actress thanked the waiter.'],
  ['Ladies and gentlemen', 'Gentlemen and ladies'],
  ['Yes sir; yes madam.', 'Yes madam; yes sir.'],
  ['(uncle) [aunt] "grandfather"', '(aunt) [uncle] "grandmother"'],
  ['my boyfriend’s dad', 'my girlfriend’s mom'],
  ['male\tfemale\nmasculine', 'female\tmale\nfeminine'],
  ['Hello world', 'Hello world'],
  ['', ''],
];

describe('genderSwap', () => {
  it.each(CASES)('%j → %j', (input, expected) => {
    expect(genderSwap(input)).toBe(expected);
  });

  it.each(CASES)('round-trips %j', (input) => {
    expect(genderSwap(genderSwap(input))).toBe(input);
  });

  it('maps the one-way words to a pair (so they do not round-trip)', () => {
    expect(genderSwap('Ms. Lee')).toBe('Mr. Lee');
    expect(genderSwap('Mr. Lee')).toBe('Mrs. Lee');
    expect(genderSwap('my mum')).toBe('my dad');
  });

  it('has the documented her/his misses', () => {
    // "happy" reads as a noun after "her": the object pronoun becomes "his".
    expect(genderSwap('made her happy')).toBe('made his happy');
    expect(genderSwap(genderSwap('made him happy'))).toBe('made his happy');
  });

  it('swaps every listed pair both ways with case kept', () => {
    const { female, male } = genderedTerms();
    const pairs = male.filter((m) => m !== 'his' && m !== 'him').map((m, i) => [m, female[i]] as const);
    expect(pairs.length).toBeGreaterThanOrEqual(40);
    for (const [m, f] of pairs) {
      expect(genderSwap(m)).toBe(f);
      expect(genderSwap(f as string)).toBe(m);
      const cap = (s: string): string => s[0]?.toUpperCase() + s.slice(1);
      expect(genderSwap(cap(m))).toBe(cap(f as string));
      expect(genderSwap(m.toUpperCase())).toBe((f as string).toUpperCase());
    }
  });

  it('refuses a non-string with a typed error', () => {
    expect(() => genderSwap(3 as unknown as string)).toThrow(TypeError);
    expect(() => hasGenderedTerm(null as unknown as string)).toThrow(TypeError);
    let caught: unknown;
    try {
      genderSwap(null as unknown as string);
    } catch (e) {
      caught = e;
    }
    expect(isDpflError(caught, 'ERR_DPFL_INVALID_TYPE')).toBe(true);
  });
});

describe('genderedTerms and hasGenderedTerm', () => {
  it('lists the pronouns, lower case, with no word in both sets', () => {
    const { female, male } = genderedTerms();
    expect(male).toEqual(expect.arrayContaining(['he', 'him', 'his', 'himself', 'man', 'mr']));
    expect(female).toEqual(expect.arrayContaining(['she', 'her', 'hers', 'herself', 'woman', 'mrs', 'ms']));
    const m = new Set(male);
    expect(female.filter((w) => m.has(w))).toEqual([]);
    expect([...female, ...male].every((w) => w === w.toLowerCase())).toBe(true);
  });

  it('returns a copy', () => {
    genderedTerms().male.push('zzz');
    expect(genderedTerms().male).not.toContain('zzz');
  });

  it('finds whole words only', () => {
    expect(hasGenderedTerm('The shell is human.')).toBe(false);
    expect(hasGenderedTerm('These managers')).toBe(false);
    expect(hasGenderedTerm("the woman's hat")).toBe(true);
    expect(hasGenderedTerm('HE SAID')).toBe(true);
    expect(hasGenderedTerm('Ms. Lee')).toBe(true);
  });
});
