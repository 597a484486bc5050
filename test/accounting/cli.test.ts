import { afterEach, describe, expect, it, vi } from 'vitest';
import { epsilon } from '../../src/cli/commands/epsilon.js';
import { calibrate } from '../../src/cli/commands/calibrate.js';
import { gaussianEpsilonBracket, pldEpsilon, poissonSampledGaussian, rdpEpsilon } from '../../src/accounting/index.js';

async function capture(run: () => Promise<number>): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    lines.push(args.join(' '));
  });
  try {
    const code = await run();
    return { code, out: lines.join('\n') };
  } finally {
    spy.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

describe('dpfl epsilon', () => {
  it('--json prints one object with ε and the optimal order (RDP)', async () => {
    const { code, out } = await capture(() =>
      epsilon.run(['--sample-rate', '0.01', '--noise', '1.1', '--steps', '1000', '--delta', '1e-5', '--json']),
    );
    expect(code).toBe(0);
    const j = JSON.parse(out);
    expect(j.accountant).toBe('rdp');
    expect(j.epsilon).toBe(
      rdpEpsilon([{ event: poissonSampledGaussian({ noiseMultiplier: 1.1, sampleRate: 0.01 }), count: 1000 }], 1e-5)
        .epsilon,
    );
    expect(j.optimalOrder).toBeGreaterThan(1);
  });

  it('PLD with epochs/dataset/batch: the interval and the TF Privacy step convention', async () => {
    const { out } = await capture(() =>
      epsilon.run([
        '--epochs',
        '60',
        '--dataset-size',
        '60000',
        '--batch-size',
        '256',
        '--noise',
        '1.1',
        '--delta',
        '1e-5',
        '--accountant',
        'pld',
        '--json',
      ]),
    );
    const j = JSON.parse(out);
    expect(j.steps).toBe(14063);
    expect(j.sampleRate).toBeCloseTo(256 / 60000, 15);
    expect(j.epsilonLower).toBeLessThanOrEqual(j.epsilon);
    expect(j.epsilonUpper).toBe(j.epsilon);
    expect(j.epsilon).toBe(
      pldEpsilon(
        [{ event: poissonSampledGaussian({ noiseMultiplier: 1.1, sampleRate: 256 / 60000 }), count: 14063 }],
        1e-5,
      ).upper,
    );
  });

  it('text output and --help', async () => {
    const t = await capture(() =>
      epsilon.run(['--sample-rate', '1', '--noise', '2', '--steps', '3', '--delta', '1e-6']),
    );
    expect(t.out).toMatch(/^ε = [0-9.]+ at δ = 1e-6 \(RDP, optimal order/);
    const h = await capture(() => epsilon.run(['--help']));
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/usage: dpfl epsilon/);
  });

  it('clear errors for δ outside (0, 1), q outside (0, 1], σ ≤ 0, non-integer steps', async () => {
    const base = ['--sample-rate', '0.01', '--noise', '1', '--steps', '10', '--delta', '1e-5'];
    const withArg = (flag: string, v: string) => {
      const a = [...base];
      a[a.indexOf(flag) + 1] = v;
      return a;
    };
    await expect(epsilon.run(withArg('--delta', '1'))).rejects.toThrow('--delta must be in (0, 1), received 1');
    await expect(epsilon.run(withArg('--delta', '0'))).rejects.toThrow('--delta must be in (0, 1), received 0');
    await expect(epsilon.run(withArg('--sample-rate', '1.5'))).rejects.toThrow(
      '--sample-rate must be in (0, 1], received 1.5',
    );
    await expect(epsilon.run(withArg('--sample-rate', '0'))).rejects.toThrow(
      '--sample-rate must be in (0, 1], received 0',
    );
    await expect(epsilon.run(withArg('--noise', '0'))).rejects.toThrow('--noise must be a number > 0, received 0');
    await expect(epsilon.run(withArg('--steps', '10.5'))).rejects.toThrow(
      '--steps must be an integer >= 1, received 10.5',
    );
    await expect(epsilon.run(withArg('--noise', 'abc'))).rejects.toThrow(
      '--noise must be a finite number, received "abc"',
    );
    await expect(epsilon.run([...base, '--accountant', 'moments'])).rejects.toThrow(
      '--accountant must be "rdp" or "pld", received moments',
    );
    await expect(epsilon.run(['--noise', '1', '--delta', '1e-5'])).rejects.toThrow('--sample-rate is required');
    await expect(epsilon.run([...base, '--epochs', '2'])).rejects.toThrow(
      /--epochs must be used without --sample-rate/,
    );
  });
});

describe('dpfl calibrate', () => {
  it('--json prints noiseMultiplier whose ε meets the target', async () => {
    const { code, out } = await capture(() =>
      calibrate.run(['--epsilon', '2', '--delta', '1e-5', '--sample-rate', '0.01', '--steps', '1000', '--json']),
    );
    expect(code).toBe(0);
    const j = JSON.parse(out);
    expect(j.accountant).toBe('rdp');
    const e = rdpEpsilon(
      [{ event: poissonSampledGaussian({ noiseMultiplier: j.noiseMultiplier, sampleRate: 0.01 }), count: 1000 }],
      1e-5,
    ).epsilon;
    expect(e).toBeLessThanOrEqual(2);
    expect(e).toBeGreaterThan(1.99);
  });

  it('PLD with epochs, text output, and errors', async () => {
    const { out } = await capture(() =>
      calibrate.run([
        '--epsilon',
        '3',
        '--delta',
        '1e-5',
        '--epochs',
        '10',
        '--dataset-size',
        '60000',
        '--batch-size',
        '600',
        '--accountant',
        'pld',
      ]),
    );
    expect(out).toMatch(/^σ = [0-9.]+ gives ε = [0-9.]+ ≤ 3 at δ = 1e-5 \(PLD, 1000 steps/);
    await expect(
      calibrate.run(['--epsilon', '0', '--delta', '1e-5', '--sample-rate', '0.1', '--steps', '1']),
    ).rejects.toThrow('--epsilon must be a number > 0');
    await expect(
      calibrate.run(['--epsilon', '1', '--delta', '2', '--sample-rate', '0.1', '--steps', '1']),
    ).rejects.toThrow('--delta must be in (0, 1)');
    await expect(
      calibrate.run(['--epsilon', '1', '--delta', '1e-5', '--sample-rate', '0.1', '--steps', '0']),
    ).rejects.toThrow('--steps must be an integer >= 1, received 0');
  });
});

const PLD_JSON = ['--accountant', 'pld', '--json'];
const REPRO1 = ['--sample-rate', '1', '--noise', '0.5', '--steps', '1000', '--delta', '1e-5', '--accountant', 'pld'];

describe('dpfl epsilon / calibrate name the method (issue 12 §2)', () => {
  it('q = 1, σ = 0.5, 1000 steps, PLD: the closed form ≈ 2269 (was "epsilon":0 after 51 s)', async () => {
    const { code, out } = await capture(() => epsilon.run([...REPRO1, '--json']));
    expect(code).toBe(0);
    const j = JSON.parse(out);
    expect(j.method).toBe('closed-form');
    expect(j.epsilon).toBeGreaterThanOrEqual(gaussianEpsilonBracket(Math.sqrt(1000) / 0.5, 1e-5).lower);
    expect(j.epsilonLower).toBeGreaterThan(2268);
    const t = await capture(() => epsilon.run(REPRO1));
    expect(t.out).toMatch(/^ε = 2268\.\d+ at δ = 1e-5 \(exact, closed form of the composed Gaussian\)/);
  });

  it('δ = 1e-12, PLD: a finite ε from the PLD, not null (was Infinity, exit 0)', async () => {
    const { out } = await capture(() =>
      epsilon.run(['--sample-rate', '0.01', '--noise', '0.8', '--steps', '1000', '--delta', '1e-12', ...PLD_JSON]),
    );
    const j = JSON.parse(out);
    expect(j.method).toBe('pld');
    expect(j.epsilon).toBeGreaterThan(0);
    const event = poissonSampledGaussian({ noiseMultiplier: 0.8, sampleRate: 0.01 });
    expect(j.epsilon).toBeLessThan(rdpEpsilon([{ event, count: 1000 }], 1e-12).epsilon);
  }, 30_000);

  it('RDP reports method rdp; calibrate --json reports the method at the returned σ', async () => {
    const args = ['--sample-rate', '0.01', '--noise', '1', '--steps', '10', '--delta', '1e-5', '--json'];
    const e = JSON.parse((await capture(() => epsilon.run(args))).out);
    expect(e.method).toBe('rdp');
    expect(e.fallback).toBeUndefined();
    const c = JSON.parse(
      (
        await capture(() =>
          calibrate.run(['--epsilon', '2', '--delta', '1e-5', '--sample-rate', '1', '--steps', '10', ...PLD_JSON]),
        )
      ).out,
    );
    expect(c.method).toBe('closed-form');
    expect(c.epsilon).toBeLessThanOrEqual(2);
  });
});
