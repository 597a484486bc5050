// The experiments behind `dpfl fairness` (issue 17 items 5, 6): DP's disparate impact (Bagdasaryan, Poursaeed and
// Shmatikov, "Differential Privacy Has Disparate Impact on Model Accuracy", NeurIPS 2019) — per-group accuracy of
// `dpfl train`'s models at several ε and without DP, several seeds, with groupMetrics' bootstrap intervals; the
// counterfactual gender-swap gap and WEAT of the text model (with or without gender-swap augmentation); and FL
// with activity-based vs uniform client selection, per activity bucket of the test messages' senders.
import { type Dataset, gatherBatch, splitRows, subset } from '../../data/dataset.js';
import { hashNgrams, tokenize } from '../../data/hashing.js';
import { loadMnist } from '../../data/mnist.js';
import { Random } from '../../data/random.js';
import { type MailMessage, readSpamCorpus, senderOwners, spamFromMessages, subjectAndBody } from '../../data/spam.js';
import { createRun, type RunConfig, SPLIT_SEED, spentEpsilon } from '../../dpsgd/run.js';
import { bootstrapMean, type MetricInterval } from '../../fairness/bootstrap.js';
import { counterfactualGap } from '../../fairness/counterfactual.js';
import { type FirstNamePairs, genderSwap } from '../../fairness/gender-swap.js';
import { type GroupMetricsResult, groupMetrics } from '../../fairness/group-metrics.js';
import { textModelEmbedding } from '../../fairness/text-embedding.js';
import { WEAT_FEMALE_TERMS, WEAT_HAM_TERMS, WEAT_MALE_TERMS, WEAT_SPAM_TERMS, weat } from '../../fairness/weat.js';
import { simulate } from '../../fl/simulate.js';
import type { Batch } from '../../models/batch.js';
import type { Sequential } from '../../models/sequential.js';
import { createModel } from '../../models/zoo.js';
import { ProgressLine } from '../progress.js';
import { federationData } from './federation-data.js';
import { parseTrainArgs } from './train.js';

export type FairnessDataset = 'spam' | 'mnist';

/** A grouping of the test examples: a group id per example and the groups' names. */
export interface Grouping {
  name: string;
  ids: Int32Array;
  names: string[];
}

/** The examples of an experiment, with what the groupings and the counterfactual gap need. */
export interface FairnessData {
  name: FairnessDataset;
  data: Dataset;
  /** spam: the text each bag was hashed from (subject and body). */
  texts?: string[];
  /** Group ids of every example (not only the test side): spam 'corpus' and 'sender activity', mnist 'class'. */
  groupings: Grouping[];
}

// The corpus groups as the SpamAssassin package names them, merged into the three kinds of mail.
const CORPUS_GROUPS = ['easy ham', 'hard ham', 'spam'];
const corpusGroup = (g: string): number => (g.startsWith('spam') ? 2 : g.startsWith('hard') ? 1 : 0);

/** Sender-activity buckets: messages of the sender domain in the corpus (or subsample) used. */
export const ACTIVITY_BUCKETS = ['1', '2–9', '10–99', '≥100'];
export function activityBucket(messages: number): number {
  return messages >= 100 ? 3 : messages >= 10 ? 2 : messages >= 2 ? 1 : 0;
}

/** The first `examples` of a seeded permutation, in their original order (all when undefined). */
function sampleRows(size: number, examples: number | undefined, seed: number): Int32Array {
  const perm = Int32Array.from({ length: size }, (_, i) => i);
  if (examples === undefined || examples >= size) return perm;
  new Random(seed).shuffle(perm);
  return perm.slice(0, examples).sort();
}

/** The dataset of an experiment, optionally a seeded subsample of `examples` examples. */
export function loadFairnessData(name: FairnessDataset, examples?: number): FairnessData {
  if (name === 'mnist') {
    const all = loadMnist();
    const data = subset(all, sampleRows(all.size, examples, 1), 'mnist');
    const names = Array.from({ length: data.classes }, (_, c) => `digit ${c}`);
    return { name, data, groupings: [{ name: 'class', ids: data.labels, names }] };
  }
  const corpus = readSpamCorpus();
  const messages: MailMessage[] = Array.from(sampleRows(corpus.length, examples, 1), (i) => corpus[i]!);
  const data = spamFromMessages(messages);
  const owners = senderOwners(messages);
  const perOwner = new Map<number, number>();
  for (const id of owners.ids) perOwner.set(id, (perOwner.get(id) ?? 0) + 1);
  return {
    name,
    data,
    texts: messages.map((m) => subjectAndBody(m.text)),
    groupings: [
      { name: 'corpus', ids: Int32Array.from(messages, (m) => corpusGroup(m.group)), names: CORPUS_GROUPS },
      {
        name: 'sender activity',
        ids: Int32Array.from(owners.ids, (id) => activityBucket(perOwner.get(id)!)),
        names: ACTIVITY_BUCKETS.map((b) => `${b} msg/domain`),
      },
    ],
  };
}

/** Positive-class (1) probability and predicted class of each example of `batch` (softmax of the logits). */
function scores(model: Sequential, batch: Batch): { p1: Float64Array; predicted: Int32Array } {
  const logits = model.forward(batch);
  const k = model.classes;
  const p1 = new Float64Array(batch.size);
  const predicted = new Int32Array(batch.size);
  for (let r = 0; r < batch.size; r++) {
    let best = 0;
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < k; c++) max = Math.max(max, logits[r * k + c]!);
    let z = 0;
    for (let c = 0; c < k; c++) {
      z += Math.exp(logits[r * k + c]! - max);
      if (logits[r * k + c]! > logits[r * k + best]!) best = c;
    }
    p1[r] = k > 1 ? Math.exp(logits[r * k + 1]! - max) / z : 1;
    predicted[r] = best;
  }
  return { p1, predicted };
}

/** Predictions of the model on every example of `data` (batches of 512). */
function predictAll(model: Sequential, data: Dataset): Int32Array {
  const out = new Int32Array(data.size);
  for (let start = 0; start < data.size; start += 512) {
    const rows = Int32Array.from({ length: Math.min(512, data.size - start) }, (_, i) => start + i);
    out.set(scores(model, gatherBatch(data, rows)).predicted, start);
  }
  return out;
}

/** P(class 1) of texts hashed as the spam dataset hashes them (the model's combiner applies: no weights). */
function textProbability(model: Sequential, buckets: number): (texts: string[]) => Float64Array {
  return (texts) => {
    const out = new Float64Array(texts.length);
    for (let start = 0; start < texts.length; start += 256) {
      const part = texts.slice(start, start + 256);
      const bags = part.map((t) => hashNgrams(tokenize(t), buckets));
      const offsets = new Int32Array(part.length + 1);
      bags.forEach((b, i) => {
        offsets[i + 1] = offsets[i]! + b.length;
      });
      const batch = {
        size: part.length,
        bags: { indices: Int32Array.from(bags.flat()), offsets },
        labels: new Int32Array(part.length),
      };
      out.set(scores(model, batch).p1, start);
    }
    return out;
  };
}

export interface CounterfactualSummary {
  /** Test texts with a gendered term (each scored beside its twin). */
  examples: number;
  meanAbsDelta: MetricInterval;
  flipRate: MetricInterval;
  maxAbsDelta: number;
}

export interface SeedResult {
  seed: number;
  batchSize: number;
  epochs: number;
  accuracy: number;
  /** ε spent (null: non-private). */
  epsilon: number | null;
  noiseMultiplier: number | null;
  steps: number;
  seconds: number;
  groups: Record<string, GroupMetricsResult>;
  counterfactual?: CounterfactualSummary;
  /** WEAT of the text model's embedding: male vs female terms against spam vs ham words (no interval: p-value). */
  weat?: { effectSize: number; pValue: number; pValueMethod: string };
}

export interface SettingResult {
  /** Target ε; null: non-private. */
  epsilon: number | null;
  seeds: SeedResult[];
}

export interface ExperimentOptions {
  /** First names to swap too in the counterfactual gap (--names); WEAT and augmentation are unchanged. */
  names?: FirstNamePairs;
  epsilons: number[];
  seeds: number;
  epochs?: number;
  augment: boolean;
  bootstrap: number;
  progress: ProgressLine;
}

/** Trains one configuration and measures it. */
async function measure(
  fd: FairnessData,
  config: RunConfig,
  bootstrap: number,
  label: string,
  names?: FirstNamePairs,
): Promise<SeedResult> {
  const t0 = performance.now();
  const run = createRun(config, fd.data, fd.texts);
  // A bar of its own per run: its ETA reads this run's elapsed time, not the command's.
  const bar = new ProgressLine();
  run.trainer.run(run.totalSteps, (r) =>
    bar.update(r.step + 1, run.totalSteps, () => `${label}: step ${r.step + 1}/${run.totalSteps}`),
  );
  bar.finish();
  const seconds = (performance.now() - t0) / 1000;
  const testRows = splitRows(fd.data.size, 0.2, SPLIT_SEED).test;
  const predictions = predictAll(run.model, run.test);
  const groups: Record<string, GroupMetricsResult> = {};
  for (const g of fd.groupings) {
    const ids = Int32Array.from(testRows, (i) => g.ids[i]!);
    groups[g.name] = groupMetrics(
      { predictions, labels: run.test.labels, groups: ids, groupNames: g.names },
      { bootstrap, seed: config.seed ?? 0 },
    );
  }
  let correct = 0;
  predictions.forEach((p, i) => {
    if (p === run.test.labels[i]) correct++;
  });
  const result: SeedResult = {
    seed: config.seed ?? 0,
    batchSize: config.batchSize,
    epochs: config.epochs,
    accuracy: correct / run.test.size,
    epsilon: spentEpsilon(run, config.delta),
    noiseMultiplier: config.nonPrivate ? null : run.noiseMultiplier,
    steps: run.optimizer.steps,
    seconds,
    groups,
  };
  if (fd.texts !== undefined) {
    const texts = Array.from(testRows, (i) => fd.texts![i]!);
    const predict = textProbability(run.model, fd.data.featureDim);
    const swap = names === undefined ? {} : { names };
    const gap = await counterfactualGap(texts, predict, swap);
    // The flip of each measured example (counterfactualGap reports only their share): for its interval.
    const originals = gap.indices.map((i) => texts[i]!);
    const [pa, pb] = [predict(originals), predict(originals.map((t) => genderSwap(t, swap)))];
    const flips = Float64Array.from(pa, (a, k) => (a >= 0.5 !== pb[k]! >= 0.5 ? 1 : 0));
    const rng = new Random(config.seed ?? 0);
    result.counterfactual = {
      examples: gap.examples,
      meanAbsDelta: bootstrapMean(gap.absDeltas, bootstrap, 0.95, rng),
      flipRate: bootstrapMean(flips, bootstrap, 0.95, rng),
      maxAbsDelta: gap.maxAbsDelta,
    };
    if (run.model.embeddingTable !== undefined) {
      const w = weat({
        embed: textModelEmbedding(run.model),
        targets: [WEAT_MALE_TERMS, WEAT_FEMALE_TERMS],
        attributes: [WEAT_SPAM_TERMS, WEAT_HAM_TERMS],
        permutations: 2000,
        seed: config.seed ?? 0,
      });
      result.weat = { effectSize: w.effectSize, pValue: w.pValue, pValueMethod: w.pValueMethod };
    }
  }
  return result;
}

/**
 * dpfl train's configuration of the dataset's default model at ε (null: non-private) and seed. On a small
 * subsample the batch is lowered to a quarter of the training side (train's default of 256 would not fit).
 */
export function trainConfig(
  name: FairnessDataset,
  epsilon: number | null,
  seed: number,
  epochs: number | undefined,
  augment: boolean,
  size: number,
): RunConfig {
  const trainSize = size - splitRows(size, 0.2, SPLIT_SEED).test.length;
  const argv = ['--dataset', name, '--seed', String(seed)];
  if (trainSize < 4 * 256) argv.push('--batch-size', String(Math.max(1, Math.floor(trainSize / 4))));
  if (epsilon === null) argv.push('--non-private');
  else argv.push('--epsilon', String(epsilon));
  if (epochs !== undefined) argv.push('--epochs', String(epochs));
  if (augment) argv.push('--augment', 'gender-swap');
  return parseTrainArgs(argv).config;
}

/** Every ε (and non-private) × seed of the DP-SGD experiment. */
export async function dpExperiment(fd: FairnessData, o: ExperimentOptions): Promise<SettingResult[]> {
  const settings: (number | null)[] = [...o.epsilons, null];
  const out: SettingResult[] = [];
  for (const epsilon of settings) {
    const seeds: SeedResult[] = [];
    for (let s = 1; s <= o.seeds; s++) {
      const config = trainConfig(fd.name, epsilon, s, o.epochs, o.augment, fd.data.size);
      const label = `${fd.name} ${epsilon === null ? 'non-private' : `ε = ${epsilon}`} seed ${s}`;
      o.progress.status(`${label}: training`);
      seeds.push(await measure(fd, config, o.bootstrap, label, o.names));
    }
    out.push({ epsilon, seeds });
  }
  return out;
}

/** FL buckets: the test message's sender domain's training messages (0: a sender no client holds). */
export const FL_BUCKETS = ['0 (unseen)', '1', '2–9', '10–99', '≥100'];

export interface FlSelectionResult {
  selection: 'uniform' | 'activity';
  seeds: { seed: number; accuracy: number; groups: GroupMetricsResult; seconds: number }[];
}

/**
 * Non-private FedAvg (dpfl federate's tuned spam setting: linear model on 2^14 bags, natural partition by
 * sender domain, 5 local epochs, local lr 10) with uniform and activity-proportional selection; each test
 * message grouped by how many training messages its sender domain (its client) holds.
 */
export async function flExperiment(
  o: { seeds: number; rounds: number; perRound: number; bootstrap: number },
  progress: ProgressLine,
): Promise<FlSelectionResult[]> {
  const out: FlSelectionResult[] = [];
  for (const selection of ['uniform', 'activity'] as const) {
    const seeds: FlSelectionResult['seeds'] = [];
    for (let s = 1; s <= o.seeds; s++) {
      progress.status(`fl ${selection} selection seed ${s}`);
      const t0 = performance.now();
      const bar = new ProgressLine();
      const fd = federationData({ dataset: 'spam', partition: 'natural', clients: '100000', seed: String(s) });
      const result = await simulate({
        train: fd.train,
        test: fd.test,
        partition: fd.partition,
        model: fd.model,
        rounds: o.rounds,
        selection: { method: selection, perRound: Math.min(o.perRound, fd.partition.clients.length) },
        local: { epochs: 5, lr: 10, batchSize: 16 },
        seed: s,
        onRound: (r) => bar.update(r.round + 1, o.rounds, `fl ${selection} seed ${s}: round ${r.round + 1}`),
      });
      bar.finish();
      const spec = { kind: 'linear' as const, inputDim: fd.data.featureDim, input: 'bags' as const, classes: 2 };
      const model = createModel({ ...spec, combiner: 'sqrtn' }, s);
      model.params.set(result.params);
      const held = new Map<number, number>();
      for (const id of fd.owners!.train.ids) held.set(id, (held.get(id) ?? 0) + 1);
      const groups = Int32Array.from(fd.owners!.test.ids, (id) => {
        const n = held.get(id) ?? 0;
        return n === 0 ? 0 : 1 + activityBucket(n);
      });
      const predictions = predictAll(model, fd.test);
      const metrics = groupMetrics(
        { predictions, labels: fd.test.labels, groups, groupNames: FL_BUCKETS },
        { bootstrap: o.bootstrap, seed: s },
      );
      seeds.push({ seed: s, accuracy: result.accuracy, groups: metrics, seconds: (performance.now() - t0) / 1000 });
    }
    out.push({ selection, seeds });
  }
  return out;
}
