import { describe, expect, it } from 'vitest';
import { makeCanaries } from '../../src/audit/canaries.js';
import { extractCanary, RelaxedCanaryObjective } from '../../src/audit/modiva.js';
import { SlotRelaxation } from '../../src/audit/modiva-relaxation.js';
import { appendBags, loadAuditDataset, textFeatures, trainModel } from '../../src/audit/train-adapter.js';
import { Random } from '../../src/data/random.js';
import type { BagCombiner } from '../../src/models/layers.js';
import { createModel } from '../../src/models/zoo.js';

const BUCKETS = 512;

/** A random bag model with parameters scaled up, so that logits and gradients are of order one. */
function model(kind: 'linear' | 'text', combiner: BagCombiner, seed = 3) {
  const m = createModel({ kind, input: 'bags', inputDim: BUCKETS, classes: 3, combiner, hidden: [8, 8] }, seed);
  const rng = new Random(seed);
  for (let i = 0; i < m.params.length; i++) m.params[i] = rng.normal() * (kind === 'linear' ? 2 : 0.8);
  return m;
}

/** log p(label | text) of the real message, featurised as the data sets are. */
function trueLogP(m: ReturnType<typeof model>, text: string, label: number): number {
  const indices = textFeatures(text, BUCKETS);
  const logits = m.forward({
    size: 1,
    bags: { indices, offsets: Int32Array.of(0, indices.length) },
    labels: new Int32Array(1),
  });
  const max = Math.max(...logits);
  const lse = max + Math.log(logits.reduce((s, z) => s + Math.exp(z - max), 0));
  return logits[label]! - lse;
}

function oneHot(size: number, k: number): Float64Array {
  const q = new Float64Array(size);
  q[k] = 1;
  return q;
}

describe('the relaxation of the secret slots', () => {
  const cases = [
    { name: 'one token of two slots', prefix: 'my pin is ', suffix: ' ok', separator: '', slots: 2 },
    { name: 'one token per slot', prefix: 'code: ', suffix: '', separator: ' ', slots: 3 },
    { name: 'no prefix', prefix: '', suffix: ' is the pin', separator: '-', slots: 2 },
  ];
  const alphabet = ['a', 'b', '7'];
  for (const c of cases) {
    for (const combiner of ['mean', 'sqrtn', 'sum'] as const) {
      it(`at a one-hot distribution it is the real message's bag (${c.name}, ${combiner})`, () => {
        const m = model('text', combiner);
        const r = new SlotRelaxation(c.prefix, c.suffix, c.slots, alphabet, c.separator, BUCKETS, 2, combiner);
        const objective = new RelaxedCanaryObjective(m, r, 1, 1);
        for (const a of [
          [0, 1, 2],
          [2, 2, 0],
          [1, 0, 1],
        ]) {
          const q = Array.from({ length: c.slots }, (_, i) => oneHot(3, a[i]!));
          const text = c.prefix + r.secretText(a) + c.suffix;
          expect(objective.value([q])[0]).toBeCloseTo(trueLogP(m, text, 1), 5);
        }
      });
    }
  }

  it('is the expected bag: a linear model scores the relaxation as the mean of its scores', () => {
    // Softmax regression: logits are linear in the bag, so E_q[logits(s)] = logits(E_q[bag(s)]).
    const m = model('linear', 'mean');
    const r = new SlotRelaxation('my pin is ', '', 2, alphabet, '', BUCKETS, 2, 'mean');
    const q = [Float64Array.of(0.2, 0.5, 0.3), Float64Array.of(0.6, 0.1, 0.3)];
    const w = new Float32Array(r.rows.length);
    r.weights(q, w);
    const relaxed = m
      .forward({
        size: 1,
        bags: { indices: r.rows, offsets: Int32Array.of(0, r.rows.length), weights: w },
        labels: new Int32Array(1),
      })
      .slice(); // forward returns a reused workspace view
    const expected = [0, 0, 0];
    for (let a = 0; a < 3; a++) {
      for (let b = 0; b < 3; b++) {
        const indices = textFeatures(`my pin is ${alphabet[a]}${alphabet[b]}`, BUCKETS);
        const z = m.forward({
          size: 1,
          bags: { indices, offsets: Int32Array.of(0, indices.length) },
          labels: new Int32Array(1),
        });
        for (let k = 0; k < 3; k++) expected[k]! += q[0]![a]! * q[1]![b]! * z[k]!;
      }
    }
    for (let k = 0; k < 3; k++) expect(relaxed[k]).toBeCloseTo(expected[k]!, 4);
  });

  for (const kind of ['linear', 'text'] as const) {
    it(`its gradient matches central finite differences (${kind} model, product of two slots)`, () => {
      const m = model(kind, 'mean');
      const r = new SlotRelaxation('my pin is ', ' ok', 2, alphabet, '', BUCKETS, 2, 'mean');
      const objective = new RelaxedCanaryObjective(m, r, 2, 2);
      const rng = new Random(9);
      const q = [0, 1].map(() => [0, 1].map(() => Float64Array.from({ length: 3 }, () => 0.1 + rng.next())));
      const grad = q.map((qs) => qs.map(() => new Float64Array(3)));
      objective.gradient(q, grad);
      // float32 forward: J carries ~1e-7 relative error, so h = 1e-3 gives differences good to ~1e-4.
      const h = 1e-3;
      let worst = 0;
      for (let s = 0; s < 2; s++) {
        for (let i = 0; i < 2; i++) {
          for (let a = 0; a < 3; a++) {
            const saved = q[s]![i]![a]!;
            q[s]![i]![a] = saved + h;
            const up = objective.value(q)[s]!;
            q[s]![i]![a] = saved - h;
            const down = objective.value(q)[s]!;
            q[s]![i]![a] = saved;
            const fd = (up - down) / (2 * h);
            worst = Math.max(worst, Math.abs(fd));
            expect(Math.abs(grad[s]![i]![a]! - fd)).toBeLessThanOrEqual(2e-3 + 1e-2 * Math.abs(fd));
          }
        }
      }
      expect(worst).toBeGreaterThan(0.05); // the check is not vacuous
    });
  }
});

describe('extractCanary (ModIvA) against trained models (synthetic text, fixed seeds)', () => {
  // 4 canaries, each planted 64 times among the 2000 synthetic messages (labels alternate).
  const data = loadAuditDataset('synthetic', 'linear');
  const canaries = makeCanaries({ perRepeat: 4, repeats: [64], seed: 5, classes: data.classes });
  const planted = canaries.flatMap((c) =>
    Array.from({ length: c.repeats }, () => ({ tokens: textFeatures(c.text, data.featureDim), label: c.label })),
  );
  const train = appendBags(data, planted);
  const secrets = canaries.map((c) => c.text.slice('my pin is '.length));
  const attack = (m: ReturnType<typeof trainModel>) =>
    canaries.map((c, i) =>
      extractCanary({
        model: m.model,
        template: 'my pin is {}',
        slots: 4,
        targetLabel: c.label,
        secret: secrets[i]!,
        exclude: secrets.filter((_, j) => j !== i),
        seed: i,
      }),
    );
  const common = { model: 'linear', delta: 1e-5, epochs: 20, maxGradNorm: 1, seed: 11 } as const;

  it('recovers every canary repeated 64× from the non-private model', () => {
    const m = trainModel(train, { ...common, private: false, epsilon: 1, optimizer: 'adam', lr: 0.05, batchSize: 128 });
    const found = attack(m);
    expect(found.map((x) => x.guess)).toEqual(secrets);
    for (const x of found) {
      expect(x.success).toBe(true);
      expect(x.slotsCorrect).toBe(4);
      expect(x.logProbability).toBeGreaterThan(-0.05);
      expect(x.candidates[0]!.secret).toBe(x.guess);
      expect(x.distributions).toHaveLength(4);
      for (const d of x.distributions) expect(d.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 9);
    }
  });

  it('recovers none of them from the DP-SGD model at ε = 1 (digits right at about chance)', () => {
    const m = trainModel(train, { ...common, private: true, epsilon: 1, optimizer: 'sgd', lr: 1, batchSize: 512 });
    expect(m.epsilon).toBeLessThanOrEqual(1 + 1e-9);
    const found = attack(m);
    expect(found.filter((x) => x.success)).toHaveLength(0);
    // Chance: 0.4 of 4 digits per guess; 16 digits in all, so at most a few right by luck.
    expect(found.reduce((n, x) => n + x.slotsCorrect!, 0)).toBeLessThanOrEqual(5);
  });
});

describe('extractCanary: bad options get typed errors', () => {
  const m = model('linear', 'mean');
  const base = { model: m, template: 'my pin is {}', slots: 4, targetLabel: 0 };
  const cases: [Record<string, unknown>, string][] = [
    [
      { model: createModel({ kind: 'linear', input: 'dense', inputDim: 4, classes: 2 }) },
      'model must be a dpfl model over bags',
    ],
    [{ model: {} }, 'model must be a dpfl model over bags'],
    [{ template: 'my pin is' }, 'template must be a string with exactly one "{}"'],
    [{ template: '{} and {}' }, 'template must be a string with exactly one "{}"'],
    [{ template: 'pin{}' }, 'template must be a "{}" set off from the words around it'],
    [{ slots: 0 }, 'slots must be an integer in [1, 64], received 0'],
    [{ slots: 7 }, "slots must be at most 1048576 values of the secret token (|alphabet|^slots), or relaxation 'slot'"],
    [{ alphabet: ['A', 'b'] }, 'alphabet[0] must be a lower-case word token'],
    [{ alphabet: ['a', 'a'] }, 'alphabet must be distinct symbols'],
    [{ alphabet: ['a', 'bb'] }, "alphabet must be symbols of one length when the separator is ''"],
    [{ separator: 'x' }, "separator must be '' or non-word characters"],
    [{ targetLabel: 3 }, 'targetLabel must be an integer in [0, 3), received 3'],
    [{ steps: -1 }, 'steps must be an integer in [0, 100000], received -1'],
    [{ lr: 0 }, 'lr must be a positive finite number, received 0'],
    [{ restarts: 0 }, 'restarts must be an integer in [1, 256], received 0'],
    [{ beam: 0 }, 'beam must be an integer in [1, 4096], received 0'],
    [{ gumbel: 1 }, 'gumbel must be a boolean, received 1'],
    [{ relaxation: 'word' }, 'relaxation must be "token" or "slot", received "word"'],
    [{ secret: '12a4' }, "secret must be 4 symbols of the alphabet joined by ''"],
    [{ secret: '1234', exclude: ['1234'] }, 'exclude must be a list without the secret itself'],
    [{ exclude: '1234' }, 'exclude must be an array of secrets'],
    [{ exclusionWeight: -1 }, 'exclusionWeight must be a non-negative finite number, received -1'],
    [{ ngrams: 3 }, 'ngrams must be 1 or 2, received 3'],
  ];
  for (const [patch, message] of cases) {
    it(message, () => {
      let error: unknown;
      try {
        extractCanary({ ...base, ...patch } as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toContain(message);
      expect((error as { code?: string }).code).toMatch(/^ERR_DPFL_INVALID_(ARGUMENT|TYPE)$/);
    });
  }

  it('refuses a relaxation too large to hold', () => {
    expect(() => extractCanary({ ...base, slots: 8, relaxation: 'slot' })).toThrow(
      'slots must be small enough for at most 4194304 relaxed rows',
    );
  });
});
