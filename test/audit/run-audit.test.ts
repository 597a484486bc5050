import { afterEach, describe, expect, it, vi } from 'vitest';
import { runAudit } from '../../src/audit/run-audit.js';
import { auditSummary, auditTable } from '../../src/audit/report.js';
import { loadAuditDataset } from '../../src/audit/train-adapter.js';
import { audit } from '../../src/cli/commands/audit.js';

// End to end on the small synthetic text dataset (2000 examples, 2^16 hashed rows): fixed seeds.
const settings = { nonPrivate: { optimizer: 'adam', lr: 0.05, epochs: 20, batchSize: 128, maxGradNorm: 1 }, private: { optimizer: 'sgd', lr: 1, epochs: 20, batchSize: 512, maxGradNorm: 1 } } as const;

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

  it('the non-private model leaks; the ε = 1 model stays below its ε', () => {
    expect(result.members).toBe(1000);
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

  it('summarises to JSON without typed arrays or Infinity, and tabulates', () => {
    const s = auditSummary(result);
    const round = JSON.parse(JSON.stringify(s));
    expect(round.nonPrivate.auc).toBe(result.nonPrivate.attacks['lira-online']!.auc);
    expect(round.private.epsilon).toBe(result.private.epsilon);
    expect(round.privacyClaimViolated).toBe(false);
    expect(round.canaries).toHaveLength(2);
    const table = auditTable(result, 'title');
    expect(table).toContain('LiRA online (headline)');
    expect(table).toMatch(/theoretical ε = 0\.\d+, audited lower bound = \d\.\d{3} at 95% confidence/);
  });

  it('rejects bad configurations', () => {
    const data = loadAuditDataset('synthetic', 'linear');
    expect(() => runAudit({ data, model: 'linear', epsilon: -1, delta: 1e-5, shadowModels: 0, ...settings, seed: 1 })).toThrow('epsilon must be a positive finite number, received -1');
    expect(() => runAudit({ data, model: 'linear', epsilon: 1, delta: 1e-5, shadowModels: 1.5, ...settings, seed: 1 })).toThrow('shadowModels must be a non-negative integer, received 1.5');
    expect(() => runAudit({ data, model: 'linear', epsilon: 1, delta: 1e-5, shadowModels: 0, ...settings, seed: 2 ** 41 })).toThrow('seed must be an integer in [0, 2^40), received 2199023255552');
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
  });

  it('--mechanism gaussian: exit 0 for the sound mechanism, 3 and a loud message for the broken one', async () => {
    const ok = await capture(['--mechanism', 'gaussian', '--trials', '4000']);
    expect(ok.code).toBe(0);
    const broken = await capture(['--mechanism', 'gaussian', '--noise-scale', '0.1', '--trials', '4000']);
    expect(broken.code).toBe(3);
    expect(broken.err).toMatch(/privacy claim violated: the mechanism claims ε = 1 at δ = 0\.00001, but the audit certifies ε ≥ \d/);
  });

  it('bad flags fail with exit code 2 and a message naming them, before any training', async () => {
    const cases: [string[], string][] = [
      [['--shadow-models', '1'], '--shadow-models must be 0 (loss attack only) or at least 2 (LiRA), received "1"'],
      [['--repeats', '1,x'], '--repeats must be a comma-separated list of positive integers (e.g. 1,4,16), received "1,x"'],
      [['--dataset', 'cifar'], '--dataset must be one of spam, mnist, synthetic, received "cifar"'],
      [['--epsilon', '0'], '--epsilon must be a positive number, received "0"'],
      [['--mechanism', 'laplace'], '--mechanism must be "gaussian", received "laplace"'],
      [['--bogus'], 'bogus'],
    ];
    for (const [argv, message] of cases) {
      const { code, err } = await capture(argv);
      expect(code).toBe(2);
      expect(err).toContain(message);
    }
  });
});
