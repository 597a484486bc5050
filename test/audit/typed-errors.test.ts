// Every audit export returns or throws a typed dpfl error (issue 12 §6), with audit-shaped arguments: the public
// fuzzer calls them with generic values, which rarely get past the first check. Plus regressions for the worst
// findings of the fuzzer (hangs, untyped TypeErrors from a caller's objects).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { api } from '../public-api.js';
import * as audit from '../../src/audit/index.js';
import { gaussianSigma } from '../../src/audit/gaussian-audit.js';
import { CallerError, junk, mix, numberList, options } from '../fuzz/hostile.js';

const RUNS = Number(process.env.DPFL_FUZZ_RUNS ?? 40);
const SEED = Number(process.env.DPFL_FUZZ_SEED ?? 20261201);

function typed(e: unknown): string | null {
  if (e instanceof CallerError) return null;
  if (!(e instanceof Error)) return `non-Error ${String(e)}`;
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('ERR_DPFL_')) return `${e.constructor.name}: ${e.message}`;
  if (/INVALID/.test(code) && !/ must /.test(e.message)) return `no argument named: ${e.message}`;
  return null;
}

function call(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    const why = typed(e);
    if (why !== null) throw new Error(why);
  }
}

const small = fc.integer({ min: -2, max: 12 });
const scores = numberList(fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 0, maxLength: 12 }));
const labelList = fc.oneof(
  fc.array(fc.constantFrom(0, 1), { minLength: 0, maxLength: 12 }),
  fc.array(fc.constantFrom(0, 1), { minLength: 0, maxLength: 12 }).map((xs) => Uint8Array.from(xs)),
  fc.array(fc.constantFrom(0, 1, true, false, 2, -1, '1', null, 1n), { maxLength: 12 }),
  junk,
);
const prob = mix(fc.double({ min: 0, max: 1, noNaN: true }), fc.oneof(junk, fc.double()));
const validRoc = fc
  .tuple(fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 4, maxLength: 8 }))
  .map(([s]) =>
    audit.rocCurve(
      s,
      s.map((_, i) => i % 2),
    ),
  );
const roc = fc.oneof(
  { arbitrary: validRoc, weight: 4 },
  {
    arbitrary: options({ tpr: fc.constant(new Float64Array(2)), fpr: mix(fc.constant(new Float64Array(3))) }),
    weight: 1,
  },
  { arbitrary: junk, weight: 1 },
);

/** A valid record, half the time with one field replaced by junk (so checks past the first are reached). */
function perturbed(valid: fc.Arbitrary<Record<string, unknown>>, hostile: fc.Arbitrary<unknown> = junk) {
  return fc.tuple(valid, fc.option(fc.tuple(fc.nat(), hostile), { freq: 2 })).map(([v, p]) => {
    if (p === null) return v;
    const keys = Object.keys(v);
    return { ...v, [keys[p[0] % keys.length]!]: p[1] };
  });
}

/** Scores and labels of one length n with both classes, sometimes a hostile pair. */
const pair = fc.oneof(
  {
    arbitrary: fc.integer({ min: 2, max: 12 }).chain((n) =>
      fc.tuple(
        fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: n, maxLength: n }),
        fc.array(fc.constantFrom(0, 1), { minLength: n, maxLength: n }).map((l) => [0, 1, ...l.slice(2)]),
      ),
    ),
    weight: 4,
  },
  { arbitrary: fc.tuple(scores, labelList), weight: 1 },
);

const liraValid = fc.integer({ min: 1, max: 6 }).chain((n) =>
  fc.integer({ min: 1, max: 4 }).chain((k) =>
    fc.record({
      target: fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: n, maxLength: n }),
      shadow: fc.array(fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: n, maxLength: n }), {
        minLength: k,
        maxLength: k,
      }),
      shadowMembership: fc.array(fc.array(fc.constantFrom(0, 1), { minLength: n, maxLength: n }), {
        minLength: k,
        maxLength: k,
      }),
      variant: fc.constantFrom('online', 'offline'),
      globalVariance: fc.boolean(),
    }),
  ),
);

const settings = (optimizer: string) =>
  perturbed(
    fc.record({
      optimizer: fc.constant(optimizer),
      lr: fc.constant(0.1),
      epochs: fc.integer({ min: 1, max: 2 }),
      batchSize: fc.integer({ min: 1, max: 16 }),
      maxGradNorm: fc.constant(1),
    }),
  );

const auditValid = fc.record({
  data: fc.constantFrom(
    api.syntheticDense({ size: 12, dim: 2, classes: 2, seed: 1 }) as unknown,
    api.syntheticBags({ size: 12, rows: 64, classes: 2, tokensPerExample: 3, seed: 1 }),
  ),
  model: fc.constantFrom('linear', 'mlp'),
  epsilon: fc.double({ min: 0.5, max: 8, noNaN: true }),
  delta: fc.constant(1e-5),
  shadowModels: fc.integer({ min: 0, max: 2 }),
  nonPrivate: settings('adam'),
  private: settings('sgd'),
  seed: fc.integer({ min: 0, max: 30 }),
});

/** One real AuditResult (a tiny run), perturbed at the top level or inside the private regime. */
const result = api.runAudit({
  data: api.syntheticBags({ size: 12, rows: 64, classes: 2, tokensPerExample: 3, seed: 1 }),
  model: 'linear',
  epsilon: 4,
  delta: 1e-5,
  shadowModels: 2,
  nonPrivate: { optimizer: 'adam', lr: 0.1, epochs: 1, batchSize: 4, maxGradNorm: 1 },
  private: { optimizer: 'sgd', lr: 0.1, epochs: 1, batchSize: 4, maxGradNorm: 1 },
  canaries: { perRepeat: 1, repeats: [1, 2], digits: 2 },
  seed: 3,
}) as unknown as Record<string, unknown>;
const reports = fc.oneof(
  perturbed(fc.constant(result)),
  perturbed(fc.constant(result.private as Record<string, unknown>)).map((p) => ({ ...result, private: p })),
  perturbed(fc.constant((result.private as { attacks: Record<string, Record<string, unknown>> }).attacks.loss!)).map(
    (loss) => ({ ...result, private: { ...(result.private as object), attacks: { loss } } }),
  ),
);

/** A small trained-shape bag model (random parameters) for extractCanary. */
const bagModel = api.createModel({ kind: 'linear', input: 'bags', inputDim: 64, classes: 2 }, 1);
const extractValid = fc.record({
  model: fc.constant(bagModel as unknown),
  template: fc.constantFrom('my pin is {}', 'pin: {} ok', '{}', 'no slot'),
  slots: fc.integer({ min: 1, max: 3 }),
  alphabet: fc.constantFrom(['0', '1', '2'], ['a', 'b'], ['x', 'yy']),
  separator: fc.constantFrom('', ' ', '-'),
  targetLabel: fc.integer({ min: 0, max: 1 }),
  steps: fc.integer({ min: 0, max: 3 }),
  restarts: fc.integer({ min: 1, max: 2 }),
  beam: fc.integer({ min: 1, max: 3 }),
  relaxation: fc.constantFrom('token', 'slot'),
  gumbel: fc.boolean(),
  seed: small,
});

const SHAPES: Record<string, fc.Arbitrary<unknown[]>> = {
  extractCanary: fc.tuple(perturbed(extractValid)),
  rocCurve: pair,
  auc: fc.tuple(roc),
  advantage: fc.tuple(roc),
  balancedAccuracy: fc.tuple(roc),
  attackMetrics: fc.tuple(roc),
  tprAtFpr: fc.tuple(roc, prob),
  clopperPearson: fc.tuple(mix(small), mix(small), prob),
  epsilonFromCounts: fc.tuple(
    perturbed(
      fc.record({
        truePositives: fc.nat(3),
        members: fc.integer({ min: 3, max: 9 }),
        falsePositives: fc.nat(3),
        nonMembers: fc.integer({ min: 3, max: 9 }),
      }),
    ),
    prob,
    fc.oneof(fc.constant(undefined), prob),
  ),
  independentTrialsEpsilon: fc.tuple(pair, options({ delta: prob, confidence: prob }, true)).map(([p, o]) => [...p, o]),
  empiricalEpsilon: fc.tuple(pair, options({ delta: prob, confidence: prob }, true)).map(([p, o]) => [...p, o]),
  oneRunPValue: fc.tuple(options({ canaries: mix(small), guesses: mix(small), correct: mix(small) }, true), prob, prob),
  oneRunEpsilon: fc.tuple(
    options({ canaries: mix(small), guesses: mix(small), correct: mix(small) }, true),
    options({ delta: prob, confidence: prob }, true),
  ),
  oneRunAudit: fc
    .tuple(
      pair,
      options(
        {
          delta: prob,
          confidence: prob,
          rules: fc.oneof(
            fc.array(options({ positive: mix(small), negative: mix(small) }, true), { maxLength: 3 }),
            junk,
          ),
        },
        true,
      ),
    )
    .map(([p, o]) => [...p, o]),
  defaultGuessRules: fc.tuple(mix(small)),
  drawMembership: fc.tuple(
    mix(fc.integer({ min: 1, max: 64 })),
    fc.oneof(fc.constant(undefined), mix(small), fc.constant({ nextUint32: () => Symbol('x') })),
  ),
  rocSvg: fc.tuple(
    fc.oneof(fc.array(options({ label: mix(fc.string()), roc }, true), { maxLength: 3 }), junk),
    options({
      title: mix(fc.string()),
      scale: mix(fc.constantFrom('log', 'linear')),
      minRate: prob,
      width: mix(small),
      height: mix(fc.integer({ min: 50, max: 600 })),
    }),
  ),
  lossThresholdScores: fc.tuple(scores),
  liraScores: fc.tuple(
    fc.oneof(
      perturbed(liraValid),
      options(
        {
          target: scores,
          shadow: fc.oneof(fc.array(scores, { maxLength: 3 }), junk),
          shadowMembership: fc.oneof(fc.array(labelList, { maxLength: 3 }), junk),
        },
        true,
      ),
    ),
  ),
  makeCanaries: fc.tuple(
    perturbed(
      fc.record({
        perRepeat: fc.integer({ min: 1, max: 4 }),
        repeats: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
        digits: fc.integer({ min: 1, max: 8 }),
        seed: small,
        classes: fc.integer({ min: 2, max: 4 }),
      }),
    ),
  ),
  canaryText: fc.tuple(mix(fc.integer({ min: -5, max: 20000 })), mix(small)),
  exposure: fc.tuple(
    scores,
    mix(small),
    fc.oneof(
      fc.constant(undefined),
      numberList(fc.array(small)),
      fc.constant(new Set([1, 2])),
      fc.constant(Object.create(Set.prototype) as unknown),
      junk,
    ),
  ),
  auditGaussianMechanism: fc.tuple(
    options(
      {
        epsilon: mix(fc.double({ min: 0.1, max: 8 })),
        delta: prob,
        noiseScale: mix(fc.double({ min: 0.05, max: 4 })),
        trials: mix(fc.integer({ min: 0, max: 64 })),
        seed: mix(small),
        confidence: prob,
      },
      true,
    ),
  ),
  assertClaimHolds: fc.tuple(
    options(
      {
        violated: mix(fc.boolean()),
        claimedEpsilon: mix(small),
        delta: prob,
        sigma: mix(small),
        calibratedSigma: mix(small),
        audit: options({ epsilon: mix(small), confidence: prob }),
      },
      true,
    ),
  ),
  runAudit: fc.tuple(
    fc.oneof(
      perturbed(auditValid),
      perturbed(
        auditValid.map((c) => ({
          ...c,
          data: api.syntheticBags({ size: 12, rows: 64, classes: 2, tokensPerExample: 3, seed: 2 }),
          canaries: { perRepeat: 1, repeats: [1, 2], digits: 2 },
        })),
      ),
    ),
  ),
  gaussianSigma: fc.tuple(mix(fc.double({ min: 0.01, max: 20 })), prob),
  auditSummary: fc.tuple(fc.oneof(reports, junk), fc.oneof(fc.constant(undefined), junk, fc.constant({ x: 1 }))),
  auditTable: fc.tuple(fc.oneof(reports, junk), mix(fc.string())),
};

describe('audit exports under audit-shaped fuzzing', () => {
  for (const [name, args] of Object.entries(SHAPES)) {
    it(name, () => {
      // gaussianSigma is internal since issue 13 (one σ calibration is public: dpfl/accounting), still fuzzed.
      const f = ({ ...audit, gaussianSigma } as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!;
      fc.assert(
        fc.property(args, (a) => call(() => f(...a))),
        { numRuns: RUNS, seed: SEED },
      );
    });
  }
});

describe('regressions: the fuzzer findings of issue 12 §6', () => {
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as { code?: string }).code;
    }
    return 'returned';
  };

  it('defaultGuessRules(Infinity) is refused instead of looping forever', () => {
    expect(code(() => audit.defaultGuessRules(Infinity))).toBe('ERR_DPFL_INVALID_ARGUMENT');
    expect(code(() => audit.defaultGuessRules(Object.create(null) as number))).toBe('ERR_DPFL_INVALID_TYPE');
  });

  it('canaryText refuses digits that would build a huge string and objects without toString', () => {
    expect(code(() => audit.canaryText(1, 2 ** 40))).toBe('ERR_DPFL_INVALID_ARGUMENT');
    expect(code(() => audit.canaryText(Object.create(null) as number, 4))).toBe('ERR_DPFL_INVALID_TYPE');
    expect(audit.canaryText(42, 4)).toBe('my pin is 0042');
  });

  it('a fake typed array (Object.create(Float32Array.prototype)) is refused by every array entry point', () => {
    const fake = Object.create(Float32Array.prototype) as Float32Array;
    for (const f of [
      () => audit.rocCurve(fake, [0, 1]),
      () => audit.lossThresholdScores(fake),
      () => audit.exposure(fake, 0),
      () => audit.oneRunAudit(fake, [0, 1], { delta: 0 }),
      () => audit.independentTrialsEpsilon([1, 2], fake as never, { delta: 0 }),
    ])
      expect(code(f)).toBe('ERR_DPFL_INVALID_TYPE');
  });

  it('an empty detached typed array is an empty array (iterating it would throw an uncoded TypeError)', () => {
    const detached = new Float32Array(4);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    for (const f of [
      () => audit.rocCurve(detached, [0, 1]),
      () => audit.exposure(detached, 0),
      () => audit.oneRunAudit(detached, [0, 1], { delta: 0 }),
      () => audit.independentTrialsEpsilon(detached, [0, 1], { delta: 0 }),
    ])
      expect(code(f)).toBe('ERR_DPFL_INVALID_ARGUMENT');
    expect(audit.lossThresholdScores(detached)).toEqual(new Float64Array(0));
  });

  it('PrivacyClaimViolated needs a string message; a thrown one still carries its code', () => {
    expect(code(() => new audit.PrivacyClaimViolated({} as string))).toBe('ERR_DPFL_INVALID_TYPE');
    expect(new audit.PrivacyClaimViolated('x').code).toBe('ERR_DPFL_PRIVACY_VIOLATED');
  });

  it('drawMembership refuses more canaries than an array holds; a generator must return numbers', () => {
    expect(code(() => audit.drawMembership(2 ** 32))).toBe('ERR_DPFL_INVALID_ARGUMENT');
    const symbols = { nextUint32: () => Symbol('x') as never };
    expect(code(() => audit.drawMembership(4, symbols))).toBe('ERR_DPFL_INVALID_TYPE');
  });

  it('makeCanaries refuses more canaries than its Set of secrets can hold (V8 caps a Set at 2^24)', () => {
    const f = () => audit.makeCanaries({ perRepeat: 2 ** 22, repeats: [1, 1, 1, 1, 1], digits: 8 });
    expect(code(f)).toBe('ERR_DPFL_INVALID_ARGUMENT');
  });

  it('metrics refuse something that is not a RocCurve, and the report functions something not an AuditResult', () => {
    for (const f of [audit.auc, audit.advantage, audit.balancedAccuracy, audit.attackMetrics]) {
      expect(code(() => f(undefined as never))).toBe('ERR_DPFL_INVALID_TYPE');
    }
    expect(code(() => audit.auditSummary(undefined as never))).toBe('ERR_DPFL_INVALID_TYPE');
    expect(code(() => audit.auditTable({} as never, 't'))).toBe('ERR_DPFL_INVALID_TYPE');
    expect(code(() => audit.runAudit(undefined as never))).toBe('ERR_DPFL_INVALID_TYPE');
  });

  it('ln Γ, ln B and the incomplete beta are internal math, not public (issue 13)', () => {
    for (const name of ['logGamma', 'logBeta', 'betaCdf', 'betaQuantile']) expect(name in api).toBe(false);
  });
});
