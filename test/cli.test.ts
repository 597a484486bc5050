import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// The CLI is tested as users run it: the compiled dist/cli/main.js (npm test builds it first).
const main = new URL('../dist/cli/main.js', import.meta.url).pathname;

describe('dpfl CLI', () => {
  it('demo --json prints one JSON object describing a private step and a federated round', () => {
    const out = execFileSync('node', [main, 'demo', '--json', '--batch', '8', '--dim', '300', '--clients', '4'], {
      encoding: 'utf8',
    });
    const report = JSON.parse(out);
    expect(report.dpsgd.batch).toBe(8);
    expect(report.dpsgd.nonFinite).toBe(0);
    expect(report.dpsgd.noiseStd).toBeCloseTo(1.1);
    expect(report.federated.clients).toBe(4);
    expect(report.federated.updateNormsBeforeClip).toHaveLength(4);
    expect(report.federated.streamingMaxAbsDiff).toBe(0);
  });
  it('info --json reports the backend, ISA and threads in use', () => {
    const report = JSON.parse(execFileSync('node', [main, 'info', '--json'], { encoding: 'utf8' }));
    expect(report.backend).toBe('cpu');
    expect(['scalar', 'avx2', 'avx512']).toContain(report.isa);
    expect(report.threads).toBeGreaterThanOrEqual(1);
    const forced = JSON.parse(
      execFileSync('node', [main, 'info', '--json'], {
        encoding: 'utf8',
        env: { ...process.env, DPFL_ISA: 'scalar', DPFL_THREADS: '3' },
      }),
    );
    expect(forced.isa).toBe('scalar');
    expect(forced.threads).toBe(3);
  });
  it('unknown commands and options fail with a message', () => {
    expect(() => execFileSync('node', [main, 'nope'], { stdio: 'pipe' })).toThrow(/unknown command "nope"/);
    expect(() => execFileSync('node', [main, 'demo', '--bogus'], { stdio: 'pipe' })).toThrow(/bogus/);
    expect(() => execFileSync('node', [main, 'demo', '--dim', 'abc'], { stdio: 'pipe' })).toThrow(
      /--dim must be a finite number/,
    );
  });
});
