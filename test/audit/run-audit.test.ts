import { afterEach, describe, expect, it, vi } from 'vitest';
import { runAudit } from '../../src/audit/run-audit.js';
import { auditSummary, auditTable } from '../../src/audit/report.js';
import { loadAuditDataset } from '../../src/audit/train-adapter.js';
import { audit } from '../../src/cli/commands/audit.js';

// End to end on the small synthetic text dataset (2000 examples, 2^16 hashed rows): fixed seeds.
const settings = {
  nonPrivate: { optimizer: 'adam', lr: 0.05, epochs: 20, batchSize: 128, maxGradNorm: 1 },
  private: { optimizer: 'sgd', lr: 1, epochs: 20, batchSize: 512, maxGradNorm: 1 },
} as const;

describe('runAudit (synthetic text, fixed seed)', () => {
  const result = runAudit({
    data: loadAuditDataset('synthetic', 'linear'),
    model: 'linear',
    epsilon: 1,
    delta: 1e-5,
    shadowModels: 2,
    ...settings,
    canaries: { perRepeat: 2, repeats: [1, 16] },
    seed: 3,
  });

  it('membership is an independent fair coin per example, drawn and recorded by the audit', () => {
    expect(result.members + result.nonMembers).toBe(2000);
    expect(result.members).not.toBe(1000); // a fixed-size half is not what the one-run analysis needs
    expect(Math.abs(result.members - 1000)).toBeLessThan(5 * Math.sqrt(500));
    expect(result.membership).toEqual({
      draw: 'independent Bernoulli(1/2) per example',
      generator: 'xoshiro128** (src/data/random.ts), seeded',
      seed: 3,
    });
  });

  it('every ε lower bound is the one-run bound over all 2000 examples (Steinke, Nasr and Jagielski 2023)', () => {
    for (const regime of [result.nonPrivate, result.private]) {
      for (const a of Object.values(regime.attacks)) {
        expect(a.bound.analysis).toBe('one-run');
        expect(a.bound.canaries).toBe(2000);
        expect(a.epsilonLowerBound).toBe(a.bound.epsilon);
        expect(a.bound.rules).toBe(21);
        expect(a.bound.assumptions).toMatch(/independently with probability 1\/2/);
        if (a.epsilonLowerBound > 0) expect(a.bound.pValue).toBeLessThan(0.05 / 21);
      }
    }
  });

  it('the non-private model leaks; the ε = 1 model stays below its ε', () => {
    expect(result.nonPrivate.attacks['lira-online']!.auc).toBeGreaterThan(0.7);
    expect(result.nonPrivate.attacks.loss!.epsilonLowerBound).toBeGreaterThan(0.5);
    expect(result.private.epsilon).toBeLessThanOrEqual(1 + 1e-9);
    for (const a of Object.values(result.private.attacks)) {
      expect(a.auc).toBeLessThan(0.56);
      expect(a.epsilonLowerBound).toBeLessThan(result.private.epsilon);
    }
  });

  it('canaries repeated 16× are exposed without privacy, not with it', () => {
    const row = result.canaries!.find((c) => c.repeats === 16)!;
    expect(row.candidates).toBe(10000 - 4 + 1);
    expect(row.nonPrivateExposure).toBeGreaterThan(10);
    expect(row.exposure).toBeLessThan(row.nonPrivateExposure - 5);
  });

  it('white-box extraction (ModIvA) recovers the 16× canaries from the non-private target only', () => {
    const row = result.canaries!.find((c) => c.repeats === 16)!.whiteBoxExtraction!;
    expect(row.attack).toMatch(/^ModIvA \(Parikh, Dupuy and Gupta 2022\)/);
    expect(row.digits).toBe(4);
    expect(row.chance).toEqual({ extraction: 1 / (10000 - 4 + 1), meanDigitsCorrect: 0.4 });
    expect(row.nonPrivate).toEqual({ extraction: 1, meanDigitsCorrect: 4 });
    expect(row.private.extraction).toBe(0);
    expect(row.private.meanDigitsCorrect).toBeLessThan(2);
    for (const c of result.nonPrivate.canaries!) {
      expect(c.whiteBox!.guess).toMatch(/^\d{4}$/);
      expect(c.whiteBox!.success).toBe(c.whiteBox!.guess === String(c.secret).padStart(4, '0'));
    }
  });

  it('summarises to JSON without typed arrays or Infinity, and tabulates', () => {
    const s = auditSummary(result);
    const round = JSON.parse(JSON.stringify(s));
    expect(round.nonPrivate.auc).toBe(result.nonPrivate.attacks['lira-online']!.auc);
    expect(round.private.epsilon).toBe(result.private.epsilon);
    expect(round.privacyClaimViolated).toBe(false);
    expect(round.epsilonLowerBoundAnalysis.analysis).toBe('one-run');
    expect(round.epsilonLowerBoundAnalysis.assumptions).toMatch(/Steinke, Nasr and Jagielski 2023/);
    expect(round.private.epsilonLowerBoundAnalysis).toBe('one-run');
    expect(round.nonPrivate.attacks.loss.bound).toMatchObject({ analysis: 'one-run', canaries: 2000 });
    expect(round.membership.seed).toBe(3);
    expect(round.canaries).toHaveLength(2);
    expect(round.canaries[1].whiteBoxExtraction.nonPrivate.extraction).toBe(1);
    const table = auditTable(result, 'title');
    expect(table).toContain('LiRA online (headline)');
    expect(table).toMatch(/white-box extraction, ModIvA \(chance 0\.01% \(0\.40\/4 digits\)\)/);
    expect(table).toMatch(/repeated 16× +100\.00% \(4\.00\/4 digits\) +0\.00% \(/);
    expect(table).toMatch(/theoretical ε = 0\.\d+, audited lower bound = \d\.\d{3} at 95% confidence/);
    expect(table).toContain('ε lower bound, one run (95%)');
    expect(table).toContain('one-run analysis (Steinke, Nasr and Jagielski 2023) over 2000 examples');
  });

  it('rejects bad configurations', () => {
    const data = loadAuditDataset('synthetic', 'linear');
    expect(() =>
      runAudit({ data, model: 'linear', epsilon: -1, delta: 1e-5, shadowModels: 0, ...settings, seed: 1 }),
    ).toThrow('epsilon must be a positive finite number, received -1');
    expect(() =>
      runAudit({ data, model: 'linear', epsilon: 1, delta: 1e-5, shadowModels: 1.5, ...settings, seed: 1 }),
    ).toThrow('shadowModels must be a non-negative integer, received 1.5');
    expect(() =>
      runAudit({ data, model: 'linear', epsilon: 1, delta: 1e-5, shadowModels: 0, ...settings, seed: 2 ** 41 }),
    ).toThrow('seed must be an integer in [0, 2^40), received 2199023255552');
    const canaries = { perRepeat: 2, repeats: [1], whiteBox: { steps: -1 } };
    expect(() =>
      runAudit({ data, model: 'linear', epsilon: 1, delta: 1e-5, shadowModels: 0, ...settings, canaries, seed: 1 }),
    ).toThrow('config.canaries.whiteBox.steps must be an integer in [0, 100000], received -1');
  });

  it('whiteBox: false skips the white-box step', () => {
    const quick = { ...settings.nonPrivate, epochs: 1 };
    const r = runAudit({
      data: loadAuditDataset('synthetic', 'linear'),
      model: 'linear',
      epsilon: 1,
      delta: 1e-5,
      shadowModels: 0,
      nonPrivate: quick,
      private: { ...settings.private, epochs: 1 },
      canaries: { perRepeat: 2, repeats: [1], whiteBox: false },
      seed: 1,
    });
    expect(r.canaries![0]!.whiteBoxExtraction).toBeUndefined();
    expect(r.nonPrivate.canaries![0]!.whiteBox).toBeUndefined();
  });
});

async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  const code = await audit.run(argv);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

afterEach(() => vi.restoreAllMocks());

describe('dpfl audit', () => {
  it('--json prints one object with the required fields', async () => {
    const { code, out } = await capture(['--dataset', 'synthetic', '--shadow-models', '0', '--epochs', '5', '--json']);
    expect(code).toBe(0);
    const j = JSON.parse(out);
    for (const k of ['auc', 'tprAt1PctFpr', 'epsilonLowerBound']) expect(typeof j.nonPrivate[k]).toBe('number');
    for (const k of ['epsilon', 'auc', 'tprAt1PctFpr', 'epsilonLowerBound']) expect(typeof j.private[k]).toBe('number');
    expect(j.private.attack).toBe('loss');
    expect(j.epsilonLowerBoundAnalysis.analysis).toBe('one-run');
    expect(j.nonPrivate.epsilonLowerBoundAnalysis).toBe('one-run');
    expect(j.membership.draw).toBe('independent Bernoulli(1/2) per example');
  });

  it('--mechanism gaussian --json names its analysis: independent trials (each trial a fresh run)', async () => {
    const { code, out } = await capture(['--mechanism', 'gaussian', '--trials', '4000', '--json']);
    expect(code).toBe(0);
    const j = JSON.parse(out);
    expect(j.epsilonLowerBoundAnalysis.analysis).toBe('independent-trials');
    expect(j.epsilonLowerBoundAnalysis.assumptions).toMatch(/independent run/);
  });

  it('--mechanism gaussian: exit 0 for the sound mechanism, 3 and a loud message for the broken one', async () => {
    const ok = await capture(['--mechanism', 'gaussian', '--trials', '4000']);
    expect(ok.code).toBe(0);
    const broken = await capture(['--mechanism', 'gaussian', '--noise-scale', '0.1', '--trials', '4000']);
    expect(broken.code).toBe(3);
    expect(broken.err).toMatch(
      /privacy claim violated: the mechanism claims ε = 1 at δ = 0\.00001, but the audit certifies ε ≥ \d/,
    );
  });

  it('bad flags fail with exit code 2 and a message naming them, before any training', async () => {
    const cases: [string[], string][] = [
      [['--shadow-models', '1'], '--shadow-models must be 0 (loss attack only) or at least 2 (LiRA), received "1"'],
      [
        ['--repeats', '1,x'],
        '--repeats must be a comma-separated list of positive integers (e.g. 1,4,16), received "1,x"',
      ],
      [['--dataset', 'cifar'], '--dataset must be one of spam, mnist, synthetic, received "cifar"'],
      [['--epsilon', '0'], '--epsilon must be a positive number, received "0"'],
      [['--mechanism', 'laplace'], '--mechanism must be "gaussian", received "laplace"'],
      [['--white-box-steps', 'x'], '--white-box-steps must be'],
      [['--white-box-steps', '1.5'], '--white-box-steps must be'],
      [['--bogus'], 'bogus'],
    ];
    for (const [argv, message] of cases) {
      const { code, err } = await capture(argv);
      expect(code).toBe(2);
      expect(err).toContain(message);
    }
  });
});
