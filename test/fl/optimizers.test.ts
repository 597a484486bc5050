import { describe, expect, it } from 'vitest';
import { createServerOptimizer } from '../../src/fl/optimizers.js';

// Float64 re-statement of Reddi et al. 2021, Algorithm 2, for one coordinate over several steps.
function reference(kind: 'fedadagrad' | 'fedadam' | 'fedyogi', deltas: number[], lr: number, b1: number, b2: number, tau: number): number {
  let x = 0.5;
  let m = 0;
  let v = tau * tau;
  for (const d of deltas) {
    m = b1 * m + (1 - b1) * d;
    if (kind === 'fedadagrad') v = v + d * d;
    else if (kind === 'fedadam') v = b2 * v + (1 - b2) * d * d;
    else v = v - (1 - b2) * d * d * Math.sign(v - d * d);
    x = x + (lr * m) / (Math.sqrt(v) + tau);
  }
  return x;
}

describe('server optimizers', () => {
  const deltas = [0.3, -0.1, 0.05, 0.2, -0.4];
  for (const kind of ['fedadagrad', 'fedadam', 'fedyogi'] as const) {
    it(`${kind} follows Algorithm 2 with the paper's defaults (β1 0.9, β2 0.99, τ 1e-3, η 0.01)`, () => {
      const opt = createServerOptimizer(kind);
      expect(opt.lr).toBe(0.01);
      const x = new Float32Array([0.5]);
      for (const d of deltas) opt.step(x, new Float32Array([d]));
      expect(x[0]).toBeCloseTo(reference(kind, deltas, 0.01, 0.9, 0.99, 1e-3), 6);
    });
  }
  it('fedavg adds the mean delta (η = 1); fedavgm accumulates momentum β = 0.9', () => {
    const x = new Float32Array([1, 2]);
    createServerOptimizer('fedavg').step(x, new Float32Array([0.5, -1]));
    expect(Array.from(x)).toEqual([1.5, 1]);
    const m = createServerOptimizer('fedavgm');
    const y = new Float32Array([0]);
    m.step(y, new Float32Array([1]));
    m.step(y, new Float32Array([1]));
    expect(y[0]).toBeCloseTo(1 + 1.9, 6);
  });
  it('rejects bad hyperparameters and mismatched lengths', () => {
    expect(() => createServerOptimizer('fedadam', { lr: 0 })).toThrow(/lr must be a positive finite number/);
    expect(() => createServerOptimizer('fedadam', { beta2: 1 })).toThrow(/beta2 must be in \[0, 1\)/);
    expect(() => createServerOptimizer('nope' as never)).toThrow(/optimizer must be/);
    expect(() => createServerOptimizer('fedavg').step(new Float32Array(2), new Float32Array(3))).toThrow(/delta.length/);
  });
});
