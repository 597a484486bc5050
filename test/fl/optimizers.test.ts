import { describe, expect, it } from 'vitest';
import { createServerOptimizer, type ServerOptimizerName } from '../../src/fl/optimizers.js';
import { Random } from '../../src/data/random.js';

// Float64 re-statement of Reddi et al. 2021, Algorithm 2, for one coordinate over several steps.
function reference(
  kind: 'fedadagrad' | 'fedadam' | 'fedyogi',
  deltas: number[],
  lr: number,
  b1: number,
  b2: number,
  tau: number,
): number {
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
    expect(() => createServerOptimizer('fedavg').step(new Float32Array(2), new Float32Array(3))).toThrow(
      /delta.length/,
    );
  });
  // Every optimizer, on the kernels or not, against a float64 statement of its formula over a vector
  // and several rounds, with non-default hyper-parameters (η, β1, β2, τ).
  type Hyper = { lr: number; beta1: number; beta2: number; tau: number };
  function vectorReference(kind: ServerOptimizerName, x0: number[], deltas: number[][], o: Hyper): number[] {
    const x = [...x0];
    const m = x.map(() => 0);
    const v = x.map(() => o.tau * o.tau);
    for (const delta of deltas) {
      delta.forEach((d, i) => {
        if (kind === 'fedavg') x[i] = x[i]! + o.lr * d;
        else if (kind === 'fedavgm') {
          m[i] = o.beta1 * m[i]! + d;
          x[i] = x[i]! + o.lr * m[i]!;
        } else {
          m[i] = o.beta1 * m[i]! + (1 - o.beta1) * d;
          if (kind === 'fedadagrad') v[i] = v[i]! + d * d;
          else if (kind === 'fedadam') v[i] = o.beta2 * v[i]! + (1 - o.beta2) * d * d;
          else v[i] = v[i]! - (1 - o.beta2) * d * d * Math.sign(v[i]! - d * d);
          x[i] = x[i]! + (o.lr * m[i]!) / (Math.sqrt(v[i]!) + o.tau);
        }
      });
    }
    return x;
  }
  for (const kind of ['fedavg', 'fedavgm', 'fedadagrad', 'fedadam', 'fedyogi'] as const) {
    it(`${kind} matches a float64 reference of its formula over 257 coordinates and 6 rounds`, () => {
      const rng = new Random(7);
      const o = { lr: 0.3, beta1: 0.8, beta2: 0.95, tau: 0.01 };
      const x0 = Array.from({ length: 257 }, () => rng.normal());
      const deltas = Array.from({ length: 6 }, () => x0.map(() => 0.1 * rng.normal()));
      const opt = createServerOptimizer(kind, o);
      const x = Float32Array.from(x0);
      for (const d of deltas) expect(opt.step(x, Float32Array.from(d))).toBe(true);
      const want = vectorReference(kind, x0, deltas, o);
      for (let i = 0; i < x.length; i++) {
        expect(Math.abs(x[i]! - want[i]!)).toBeLessThan(1e-5 * (1 + Math.abs(want[i]!)));
      }
    });
  }
  // The kernel-backed steps are all or nothing: an overflow leaves params and state as they were.
  for (const kind of ['fedavg', 'fedavgm', 'fedadam'] as const) {
    it(`${kind} leaves params and state unchanged when a step would overflow float32`, () => {
      const a = createServerOptimizer(kind, { lr: 0.5 });
      const b = createServerOptimizer(kind, { lr: 0.5 });
      const x = new Float32Array([3e38, 1, 2]);
      const y = Float32Array.from(x);
      a.step(x, new Float32Array([-1, 0.2, -0.3]));
      b.step(y, new Float32Array([-1, 0.2, -0.3]));
      const before = Array.from(x);
      expect(a.step(x, new Float32Array([3e38, 0, 0]))).toBe(false);
      expect(Array.from(x)).toEqual(before);
      a.step(x, new Float32Array([0.05, -0.05, 0.1]));
      b.step(y, new Float32Array([0.05, -0.05, 0.1]));
      expect(Array.from(x)).toEqual(Array.from(y));
    });
  }
});
