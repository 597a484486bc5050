// White-box canary extraction by model inversion (ModIvA): Parikh, Dupuy and Gupta 2022, "Canary
// Extraction in Natural Language Understanding Models", ACL (arXiv 2203.13920). The attacker holds
// the trained model's parameters, the canary's non-secret text ("my pin is ____") and its label,
// and reconstructs the secret: each unknown token becomes a softmax over the vocabulary, the
// model's loss on the label is minimised by gradient steps on the softmax's logits, and the
// relaxation is decoded by argmax. What dpfl follows, and where it differs:
// - the relaxation (modiva-relaxation.ts) is over the hashed rows of a bag model: every unigram and
//   bigram feature that reads a slot contributes each candidate row weighted by the product of the
//   relaxed probabilities of the symbols it contains (the exact expected bag);
// - the objective is J = log p(target | relaxed message), ascended with Adam on the logits θ of
//   q_i = softmax((θ_i + g_i)/τ) (g = 0, or fresh Gumbel noise per step with `gumbel`: the paper's
//   Gumbel-softmax; Jang, Gu and Poole 2017), from several seeded starts batched as one forward;
// - decoding: argmax of each slot, and a beam over the top candidates of every start's product
//   distribution rescored by the model's true log-probability of the target (the guess).
// The gradient comes from Sequential.inputGradient (∂p_target/∂ each bag entry's weight), chained
// through the relaxation; everything outside the model's forward is float64.
import { invalidArgument, invalidType } from '../errors.js';
import { hashNgrams, tokenize } from '../data/hashing.js';
import { Random } from '../data/random.js';
import { EmbeddingBag } from '../models/layers.js';
import { Sequential } from '../models/sequential.js';
import {
  booleanValue,
  integerIn,
  nonNegativeFinite,
  oneOf,
  positiveFinite,
  requiredObject,
  stringValue,
} from '../validate.js';
import { SlotRelaxation } from './modiva-relaxation.js';

export interface ExtractCanaryOptions {
  /** A trained bag model (createModel kinds 'linear', 'mlp', 'text' or 'embedding-bag' with bags input). */
  model: Sequential;
  /** The canary's text with `{}` where the secret goes, e.g. "my pin is {}". */
  template: string;
  /** Symbols in the secret (e.g. 4 digits). */
  slots: number;
  /** The symbols a slot can take: lower-case word tokens (default the digits "0"…"9"). */
  alphabet?: readonly string[];
  /** Between the symbols of the secret: '' (default: one token, "4821") or non-word characters (" ": "4 8 2 1"). */
  separator?: string;
  /** The class the canary messages carry. */
  targetLabel: number;
  /** Gradient steps per start (default 50). */
  steps?: number;
  /** Adam step size on the softmax logits (default 0.3). */
  lr?: number;
  /** Starts: the first from the uniform distribution, the others from seeded N(0, 1) logits (default 2). */
  restarts?: number;
  /** Candidates per start rescored by the model's true loss (default 8; 1 = the argmax of each start). */
  beam?: number;
  /** Softmax temperature τ (default 1). */
  temperature?: number;
  /** Gumbel-softmax: fresh Gumbel noise on the logits at every step (default false). */
  gumbel?: boolean;
  seed?: number;
  /** The planted secret (as the text in the slots), when known: success and slots correct are reported. */
  secret?: string;
  /**
   * Secrets kept out of the search (other canaries of the same template and label: each audited as if
   * it were alone, as exposure does): never returned, and the optimisation is steered off them by a
   * penalty λ·Π_i q_i(x_i) per excluded x (the probability the relaxation puts on it).
   */
  exclude?: readonly string[];
  /** λ of the exclusion penalty (default 4: larger than a typical gap in log-probability). */
  exclusionWeight?: number;
  /**
   * What a relaxed variable is: 'token' (default): one softmax over every value of each token of the
   * secret (with no separator the secret is one token, "4821": one softmax over its |alphabet|^slots
   * values); 'slot': one softmax per slot over the alphabet, a token of several slots weighting each of
   * its values by the product of its slots' probabilities (a mean-field relaxation: fewer parameters,
   * but for hashed tokens it finds the secret far less often; see docs/audit.md).
   */
  relaxation?: 'token' | 'slot';
  /** N-grams of the featuriser (default 2: unigrams and bigrams, as the spam dataset). */
  ngrams?: 1 | 2;
}

export interface CanaryExtraction {
  /** The best rescored candidate: the attack's answer. */
  guess: string;
  /** The argmax of each slot's distribution in the start with the highest relaxed objective. */
  argmax: string;
  /** Each slot's final distribution over the alphabet (that start). */
  distributions: Float64Array[];
  /** log p(target | guess) under the model (float64 from its logits). */
  logProbability: number;
  /** log p(target | relaxed message) at the end of the optimisation (that start). */
  relaxedLogProbability: number;
  /** Every rescored candidate, best first. */
  candidates: { secret: string; logProbability: number }[];
  /** With `secret`: whether the guess is it, and how many slots the guess has right. */
  success?: boolean;
  slotsCorrect?: number;
}

const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;
const WORD = /^[a-z0-9$!]+$/;
const WORD_CHAR = /[a-z0-9$!]/i;
const MAX_STEPS = 100000;
/** Values of a jointly relaxed secret token (10^6: a 6-digit secret). */
const MAX_JOINT = 2 ** 20;
const MAX_RESTARTS = 256;
const MAX_BEAM = 4096;
/** Relaxed rows over all starts of one forward. */
const MAX_BATCH_ROWS = 2 ** 24;

interface Checked {
  model: Sequential;
  bag: EmbeddingBag;
  prefix: string;
  suffix: string;
  slots: number;
  alphabet: string[];
  separator: string;
  target: number;
  steps: number;
  lr: number;
  restarts: number;
  beam: number;
  temperature: number;
  gumbel: boolean;
  seed: number;
  secret?: Int32Array;
  exclude: Set<string>;
  excluded: Int32Array[];
  exclusionWeight: number;
  relaxation: 'token' | 'slot';
  ngrams: 1 | 2;
}

function checkOptions(options: unknown): Checked {
  const o = requiredObject('options', options as ExtractCanaryOptions);
  const model = o.model;
  if (!(model instanceof Sequential) || model.inputKind !== 'bags' || !(model.layers[0] instanceof EmbeddingBag)) {
    throw invalidType('model', 'a dpfl model over bags of hashed tokens (createModel with input "bags")', model);
  }
  const template = stringValue('template', o.template);
  const at = template.indexOf('{}');
  if (at < 0 || template.indexOf('{}', at + 2) >= 0) {
    throw invalidArgument('template', 'a string with exactly one "{}" where the secret goes', template);
  }
  const prefix = template.slice(0, at);
  const suffix = template.slice(at + 2);
  // The secret must be its own token(s): a word character against "{}" would merge with it.
  if (WORD_CHAR.test(prefix.slice(-1)) || WORD_CHAR.test(suffix.slice(0, 1))) {
    throw invalidArgument('template', 'a "{}" set off from the words around it (by a space or punctuation)', template);
  }
  const slots = integerIn('slots', o.slots, 1, 64, 'an integer in [1, 64]');
  const alphabetIn: unknown = o.alphabet ?? DIGITS;
  if (!Array.isArray(alphabetIn) || alphabetIn.length < 2) {
    throw invalidType('alphabet', 'an array of at least 2 distinct lower-case word tokens', alphabetIn);
  }
  const alphabet = alphabetIn.map((s: unknown, i) => {
    if (typeof s !== 'string' || !WORD.test(s)) {
      throw invalidArgument(`alphabet[${i}]`, 'a lower-case word token (letters, digits, $ or !)', s);
    }
    return s;
  });
  if (new Set(alphabet).size !== alphabet.length) throw invalidArgument('alphabet', 'distinct symbols', alphabetIn);
  const separator = o.separator === undefined ? '' : stringValue('separator', o.separator);
  if (WORD_CHAR.test(separator)) {
    throw invalidArgument('separator', "'' or non-word characters (e.g. ' ')", separator);
  }
  // A secret written without separator reads back into symbols only if they share one length.
  if (separator === '' && slots > 1 && new Set(alphabet.map((s) => s.length)).size > 1) {
    throw invalidArgument('alphabet', "symbols of one length when the separator is ''", alphabetIn);
  }
  const target = integerIn('targetLabel', o.targetLabel, 0, model.classes - 1, `an integer in [0, ${model.classes})`);
  const steps =
    o.steps === undefined ? 50 : integerIn('steps', o.steps, 0, MAX_STEPS, `an integer in [0, ${MAX_STEPS}]`);
  const lr = o.lr === undefined ? 0.3 : positiveFinite('lr', o.lr);
  const restarts =
    o.restarts === undefined
      ? 2
      : integerIn('restarts', o.restarts, 1, MAX_RESTARTS, `an integer in [1, ${MAX_RESTARTS}]`);
  const beam = o.beam === undefined ? 8 : integerIn('beam', o.beam, 1, MAX_BEAM, `an integer in [1, ${MAX_BEAM}]`);
  const temperature = o.temperature === undefined ? 1 : positiveFinite('temperature', o.temperature);
  const gumbel = o.gumbel === undefined ? false : booleanValue('gumbel', o.gumbel);
  const seed =
    o.seed === undefined
      ? 1
      : integerIn('seed', o.seed, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 'a safe integer');
  const relaxation = oneOf('relaxation', o.relaxation, ['token', 'slot'], 'token');
  if (relaxation === 'token' && separator === '' && alphabet.length ** slots > MAX_JOINT) {
    const expected = `at most ${MAX_JOINT} values of the secret token (|alphabet|^slots), or relaxation 'slot'`;
    throw invalidArgument('slots', expected, slots);
  }
  if (o.ngrams !== undefined && o.ngrams !== 1 && o.ngrams !== 2) throw invalidArgument('ngrams', '1 or 2', o.ngrams);
  const parse = (name: string, value: unknown): Int32Array => {
    const text = stringValue(name, value);
    const a = parseSecret(text, slots, alphabet, separator);
    if (a === null) throw invalidArgument(name, `${slots} symbols of the alphabet joined by '${separator}'`, text);
    return a;
  };
  const secret = o.secret === undefined ? undefined : parse('secret', o.secret);
  if (o.exclude !== undefined && !Array.isArray(o.exclude)) {
    throw invalidType('exclude', 'an array of secrets', o.exclude);
  }
  const exclude = new Set<string>();
  const excluded: Int32Array[] = [];
  (o.exclude ?? []).forEach((s, i) => {
    const a = parse(`exclude[${i}]`, s);
    if (!exclude.has(s)) excluded.push(a);
    exclude.add(s);
  });
  const exclusionWeight = o.exclusionWeight === undefined ? 4 : nonNegativeFinite('exclusionWeight', o.exclusionWeight);
  if (o.secret !== undefined && exclude.has(o.secret)) {
    throw invalidArgument('exclude', 'a list without the secret itself', o.secret);
  }
  return {
    model,
    bag: model.layers[0] as EmbeddingBag,
    prefix,
    suffix,
    slots,
    alphabet,
    separator,
    target,
    steps,
    lr,
    restarts,
    beam,
    temperature,
    gumbel,
    seed,
    ...(secret ? { secret } : {}),
    exclude,
    excluded,
    exclusionWeight,
    relaxation,
    ngrams: o.ngrams ?? 2,
  };
}

/** The symbol indices of a secret's text, or null when it is not slots symbols of the alphabet. */
function parseSecret(text: string, slots: number, alphabet: readonly string[], separator: string): Int32Array | null {
  let parts: string[];
  if (separator !== '') parts = text.split(separator);
  else if (slots === 1) parts = [text];
  else {
    const len = alphabet[0]!.length;
    if (text.length !== len * slots) return null;
    parts = Array.from({ length: slots }, (_, i) => text.slice(i * len, (i + 1) * len));
  }
  if (parts.length !== slots) return null;
  const out = new Int32Array(slots);
  for (let i = 0; i < slots; i++) {
    const k = alphabet.indexOf(parts[i]!);
    if (k < 0) return null;
    out[i] = k;
  }
  return out;
}

/** log p(target) of each of `batch` rows of logits (float64 log-sum-exp). */
function logProbabilities(logits: Float32Array, batch: number, classes: number, target: number): Float64Array {
  const out = new Float64Array(batch);
  for (let r = 0; r < batch; r++) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[r * classes + c]!);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logits[r * classes + c]! - max);
    out[r] = logits[r * classes + target]! - max - Math.log(sum);
  }
  return out;
}

/** q = softmax((θ + g)/τ) per slot, written into q. */
function softmaxInto(theta: Float64Array, noise: Float64Array | null, tau: number, q: Float64Array): void {
  let max = -Infinity;
  for (let a = 0; a < theta.length; a++) max = Math.max(max, (theta[a]! + (noise?.[a] ?? 0)) / tau);
  let sum = 0;
  for (let a = 0; a < theta.length; a++) {
    q[a] = Math.exp((theta[a]! + (noise?.[a] ?? 0)) / tau - max);
    sum += q[a]!;
  }
  for (let a = 0; a < theta.length; a++) q[a]! /= sum;
}

/**
 * The relaxed objective and its gradient for a batch of starts: a reusable evaluator (what the
 * optimiser calls each step; exported for the finite-difference test, not from dpfl/audit).
 */
export class RelaxedCanaryObjective {
  readonly relaxation: SlotRelaxation;
  private readonly indices: Int32Array;
  private readonly offsets: Int32Array;
  private readonly weights: Float32Array;
  private readonly labels: Int32Array;

  constructor(
    private readonly model: Sequential,
    relaxation: SlotRelaxation,
    readonly target: number,
    readonly batch: number,
  ) {
    this.relaxation = relaxation;
    const e = relaxation.rows.length;
    if (e * batch > MAX_BATCH_ROWS) {
      throw invalidArgument('restarts', `at most ${Math.floor(MAX_BATCH_ROWS / e)} for ${e} relaxed rows`, batch);
    }
    this.indices = new Int32Array(e * batch);
    for (let r = 0; r < batch; r++) this.indices.set(relaxation.rows, r * e);
    this.offsets = Int32Array.from({ length: batch + 1 }, (_, r) => r * e);
    this.weights = new Float32Array(e * batch);
    this.labels = new Int32Array(batch).fill(target);
  }

  private load(q: readonly (readonly Float64Array[])[]): void {
    const e = this.relaxation.rows.length;
    q.forEach((qs, r) => this.relaxation.weights(qs, this.weights.subarray(r * e, (r + 1) * e)));
  }

  private get input() {
    return {
      size: this.batch,
      bags: { indices: this.indices, offsets: this.offsets, weights: this.weights },
      labels: this.labels,
    };
  }

  /** J = log p(target | relaxed message) for each start's slot distributions q[r]. */
  value(q: readonly (readonly Float64Array[])[]): Float64Array {
    this.load(q);
    return logProbabilities(this.model.forward(this.input), this.batch, this.model.classes, this.target);
  }

  /** J for each start, and ∂J/∂q[r][i][a] added into grad[r][i] (zero it first). */
  gradient(q: readonly (readonly Float64Array[])[], grad: Float64Array[][]): Float64Array {
    const j = this.value(q);
    // inputGradient gives ∂p/∂w; ∂ log p/∂w = (∂p/∂w)/p.
    const dp = this.model.inputGradient(this.input, this.target);
    const e = this.relaxation.rows.length;
    const dw = new Float64Array(e);
    for (let r = 0; r < this.batch; r++) {
      const inv = Math.exp(-j[r]!);
      for (let t = 0; t < e; t++) dw[t] = dp[r * e + t]! * inv;
      this.relaxation.slotGradient(q[r]!, dw, grad[r]!);
    }
    return j;
  }
}

/**
 * Σ_x Π_i q_i(x_i): the probability the product distribution q puts on the excluded secrets; with
 * `grad`, scale·∂/∂q_i(a) of it is added there (∂/∂q_i(x_i) = Π_{j≠i} q_j(x_j)).
 */
function excludedMass(q: readonly Float64Array[], excluded: readonly Int32Array[], scale = 0, grad?: Float64Array[]) {
  let mass = 0;
  for (const x of excluded) {
    let p = 1;
    for (let i = 0; i < q.length; i++) p *= q[i]![x[i]!]!;
    mass += p;
    if (!grad) continue;
    for (let i = 0; i < q.length; i++) {
      let others = scale;
      for (let j = 0; j < q.length; j++) if (j !== i) others *= q[j]![x[j]!]!;
      grad[i]![x[i]!]! += others;
    }
  }
  return mass;
}

/** The top `k` symbol assignments of a product distribution by Σ log q (beam search: exact here). */
function topAssignments(q: readonly Float64Array[], k: number): Int32Array[] {
  let beam: { a: number[]; score: number }[] = [{ a: [], score: 0 }];
  for (const qi of q) {
    const next: { a: number[]; score: number }[] = [];
    for (const b of beam) qi.forEach((p, s) => next.push({ a: [...b.a, s], score: b.score + Math.log(p) }));
    next.sort((x, y) => y.score - x.score);
    beam = next.slice(0, k);
  }
  return beam.map((b) => Int32Array.from(b.a));
}

/**
 * ModIvA against a trained bag model: reconstructs the secret of a canary from the model's
 * parameters, the template and the canary's label. See the comment at the top of this file.
 */
export function extractCanary(options: ExtractCanaryOptions): CanaryExtraction {
  const o = checkOptions(options);
  const { model, alphabet, slots, target } = o;
  const table = model.embeddingTable!;
  // The relaxed variables: one per slot, or (relaxation 'token', no separator) one over every value
  // of the secret's single token, indexed big-endian (for digits, the index is the number itself).
  const joint = o.relaxation === 'token' && o.separator === '' && slots > 1;
  const vars = joint ? 1 : slots;
  const symbols = joint ? jointAlphabet(alphabet, slots) : alphabet;
  const toVars = (a: Int32Array): Int32Array => (joint ? Int32Array.of(a.reduce((k, s) => k * base0 + s, 0)) : a);
  const base0 = alphabet.length;
  const excludedVars = o.excluded.map(toVars);
  const relaxation = new SlotRelaxation(
    o.prefix,
    o.suffix,
    vars,
    symbols,
    o.separator,
    table.rows,
    o.ngrams,
    o.bag.combiner,
  );
  const objective = new RelaxedCanaryObjective(model, relaxation, target, o.restarts);
  const rng = new Random(o.seed);
  const base = symbols.length;
  const theta = Array.from({ length: o.restarts }, (_, r) =>
    Array.from({ length: vars }, () => Float64Array.from({ length: base }, () => (r === 0 ? 0 : rng.normal()))),
  );
  const q = theta.map((t) => t.map(() => new Float64Array(base)));
  const grad = theta.map((t) => t.map(() => new Float64Array(base)));
  const m = theta.map((t) => t.map(() => new Float64Array(base)));
  const v = theta.map((t) => t.map(() => new Float64Array(base)));
  const noise = o.gumbel ? new Float64Array(base) : null;
  const tau = o.temperature;
  const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
  for (let step = 1; step <= o.steps; step++) {
    theta.forEach((ts, r) =>
      ts.forEach((t, i) => {
        if (noise) for (let a = 0; a < base; a++) noise[a] = -Math.log(-Math.log(1 - rng.next()));
        softmaxInto(t, noise, tau, q[r]![i]!);
        grad[r]![i]!.fill(0);
      }),
    );
    objective.gradient(q, grad);
    q.forEach((qs, r) => excludedMass(qs, excludedVars, -o.exclusionWeight, grad[r]!));
    const c1 = 1 - beta1 ** step;
    const c2 = 1 - beta2 ** step;
    theta.forEach((ts, r) =>
      ts.forEach((t, i) => {
        const qi = q[r]![i]!;
        const gq = grad[r]![i]!;
        let mean = 0;
        for (let a = 0; a < base; a++) mean += qi[a]! * gq[a]!;
        const mi = m[r]![i]!;
        const vi = v[r]![i]!;
        for (let a = 0; a < base; a++) {
          // Ascent on J: ∂J/∂θ_a = q_a·(∂J/∂q_a − Σ_b q_b ∂J/∂q_b)/τ (the softmax's Jacobian).
          const g = (qi[a]! * (gq[a]! - mean)) / tau;
          mi[a] = beta1 * mi[a]! + (1 - beta1) * g;
          vi[a] = beta2 * vi[a]! + (1 - beta2) * g * g;
          t[a]! += (o.lr * (mi[a]! / c1)) / (Math.sqrt(vi[a]! / c2) + eps);
        }
      }),
    );
  }
  theta.forEach((ts, r) => ts.forEach((t, i) => softmaxInto(t, null, tau, q[r]![i]!)));
  const relaxed = objective.value(q);
  const penalised = relaxed.map((j, r) => j - o.exclusionWeight * excludedMass(q[r]!, excludedVars));
  let best = 0;
  for (let r = 1; r < o.restarts; r++) if (penalised[r]! > penalised[best]!) best = r;
  const argmax = Int32Array.from(q[best]!, (qi) => qi.indexOf(Math.max(...qi)));

  // Rescoring: every start's top candidates (beyond the excluded ones) under the true model.
  const pool = new Set<string>();
  for (const qs of q) {
    let kept = 0;
    for (const a of topAssignments(qs, o.beam + o.exclude.size)) {
      const text = relaxation.secretText(a);
      if (o.exclude.has(text)) continue;
      pool.add(text);
      if (++kept === o.beam) break;
    }
  }
  const texts = [...pool];
  const scores = trueLogProbabilities(o, texts, table.rows);
  const candidates = texts
    .map((secret, i) => ({ secret, logProbability: scores[i]! }))
    .sort((x, y) => y.logProbability - x.logProbability);
  const top = candidates[0]!;
  const result: CanaryExtraction = {
    guess: top.secret,
    argmax: relaxation.secretText(argmax),
    distributions: joint ? marginals(q[best]![0]!, slots, base0) : q[best]!,
    logProbability: top.logProbability,
    relaxedLogProbability: relaxed[best]!,
    candidates,
  };
  if (o.secret) {
    const g = parseSecret(top.secret, slots, alphabet, o.separator)!;
    result.success = top.secret === renderSecret(o.secret, alphabet, o.separator);
    result.slotsCorrect = o.secret.reduce((n, s, i) => n + (s === g[i] ? 1 : 0), 0);
  }
  return result;
}

/** Every secret of `slots` symbols as one token, big-endian (the last slot varies fastest). */
function jointAlphabet(alphabet: readonly string[], slots: number): string[] {
  let out = [''];
  for (let i = 0; i < slots; i++) out = out.flatMap((p) => alphabet.map((s) => p + s));
  return out;
}

/** Each slot's marginal of a distribution over the joint (big-endian) index. */
function marginals(joint: Float64Array, slots: number, base: number): Float64Array[] {
  const out = Array.from({ length: slots }, () => new Float64Array(base));
  joint.forEach((p, k) => {
    for (let i = slots - 1; i >= 0; i--, k = Math.floor(k / base)) out[i]![k % base]! += p;
  });
  return out;
}

function renderSecret(a: Int32Array, alphabet: readonly string[], separator: string): string {
  return Array.from(a, (s) => alphabet[s]!).join(separator);
}

/** log p(target | message) of the filled template for each secret text, featurised as the data sets are. */
function trueLogProbabilities(o: Checked, secrets: readonly string[], buckets: number): Float64Array {
  const bags = secrets.map((s) => Int32Array.from(hashNgrams(tokenize(o.prefix + s + o.suffix), buckets, o.ngrams)));
  const offsets = new Int32Array(bags.length + 1);
  bags.forEach((b, i) => (offsets[i + 1] = offsets[i]! + b.length));
  const indices = new Int32Array(offsets[bags.length]!);
  bags.forEach((b, i) => indices.set(b, offsets[i]!));
  const size = bags.length;
  const logits = o.model.forward({ size, bags: { indices, offsets }, labels: new Int32Array(size) });
  return logProbabilities(logits, size, o.model.classes, o.target);
}
