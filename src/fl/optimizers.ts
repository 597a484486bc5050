// Server optimizers: the server treats the aggregated client delta Δ_t (mean of x_k − x_t) as a
// negative pseudo-gradient and takes one optimizer step on the global model.
//
// Reddi, Charles, Zaheer, Garrett, Rush, Konečný, Kumar and McMahan, "Adaptive Federated
// Optimization", ICLR 2021, Algorithm 2:
//   m_t = β1 m_{t−1} + (1 − β1) Δ_t
//   FedAdagrad: v_t = v_{t−1} + Δ_t²
//   FedAdam:    v_t = β2 v_{t−1} + (1 − β2) Δ_t²
//   FedYogi:    v_t = v_{t−1} − (1 − β2) Δ_t² sign(v_{t−1} − Δ_t²)
//   x_{t+1} = x_t + η m_t / (√v_t + τ)
// with v_{−1} = τ² (the paper requires v_{−1} ≥ τ²) and no bias correction, as in the paper.
// Defaults are the paper's: β1 = 0.9, β2 = 0.99, τ = 1e-3 (Section 5, "adaptivity" τ fixed at
// 1e-3 in their main comparison). The paper tunes the server learning rate η per task on a
// log10 grid (its Appendix D) and finds the best adaptive-server values well below 1; dpfl
// defaults to η = 0.01 for the adaptive methods, which is a starting point to tune, not a
// universal optimum.
//
// FedAvg: x_{t+1} = x_t + η Δ_t with η = 1 (McMahan et al., AISTATS 2017: the new model is the
// average of the client models). FedAvgM: server momentum (Hsu, Qi and Brown, "Measuring the
// Effects of Non-Identical Data Distribution for Federated Visual Classification", 2019):
// m_t = β m_{t−1} + Δ_t, x_{t+1} = x_t + η m_t, with β = 0.9, η = 1 by default.
import { invalidArgument } from '../errors.js';
import { finiteNumber, optionsObject, positiveFinite } from '../validate.js';

export type ServerOptimizerName = 'fedavg' | 'fedavgm' | 'fedadagrad' | 'fedadam' | 'fedyogi';

export interface ServerOptimizerOptions {
  /** Server learning rate η. Default 1 (fedavg, fedavgm) or 0.01 (adaptive). */
  lr?: number;
  /** Momentum β (fedavgm) or β1 (adaptive). Default 0.9. */
  beta1?: number;
  /** β2 of fedadam / fedyogi. Default 0.99. */
  beta2?: number;
  /** Adaptivity τ. Default 1e-3. */
  tau?: number;
}

export interface ServerOptimizer {
  readonly name: ServerOptimizerName;
  readonly lr: number;
  /**
   * Applies one server step in place: params += f(delta). All or nothing: when a new parameter
   * (or optimizer state) would be non-finite — a finite but huge delta can overflow float32 —
   * params and the state are left unchanged and it returns false.
   */
  step(params: Float32Array, delta: Float32Array): boolean;
}

function inUnit(name: string, value: unknown): number {
  const v = finiteNumber(name, value);
  if (!(v >= 0 && v < 1)) throw invalidArgument(name, 'in [0, 1)', v);
  return v;
}

export function createServerOptimizer(name: ServerOptimizerName, options: ServerOptimizerOptions = {}): ServerOptimizer {
  optionsObject('options', options);
  const adaptive = name === 'fedadagrad' || name === 'fedadam' || name === 'fedyogi';
  const lr = positiveFinite('lr', options.lr ?? (adaptive ? 0.01 : 1));
  const beta1 = inUnit('beta1', options.beta1 ?? 0.9);
  const beta2 = inUnit('beta2', options.beta2 ?? 0.99);
  const tau = positiveFinite('tau', options.tau ?? 1e-3);
  // The step is formed in a second set of buffers and swapped in only when every value is finite.
  let m: Float64Array | undefined;
  let v: Float64Array | undefined;
  let m2: Float64Array | undefined;
  let v2: Float64Array | undefined;
  let next: Float32Array | undefined;
  const init = (d: number) => {
    if (next === undefined || next.length !== d) {
      next = new Float32Array(d);
      m = m2 = v = v2 = undefined;
    }
    if (name !== 'fedavg' && m === undefined) {
      m = new Float64Array(d);
      m2 = new Float64Array(d);
      if (adaptive) {
        v = new Float64Array(d).fill(tau * tau);
        v2 = new Float64Array(d);
      }
    }
    return next;
  };
  const check = (params: Float32Array, delta: Float32Array) => {
    if (params.length !== delta.length) throw invalidArgument('delta.length', `params.length (${params.length})`, delta.length);
  };
  const commit = (params: Float32Array, p: Float32Array): boolean => {
    for (let i = 0; i < p.length; i++) if (!Number.isFinite(p[i]!)) return false;
    params.set(p);
    [m, m2] = [m2, m];
    [v, v2] = [v2, v];
    return true;
  };
  switch (name) {
    case 'fedavg':
      return {
        name,
        lr,
        step(params, delta) {
          check(params, delta);
          const p = init(params.length);
          for (let i = 0; i < params.length; i++) p[i] = params[i]! + lr * delta[i]!;
          return commit(params, p);
        },
      };
    case 'fedavgm':
      return {
        name,
        lr,
        step(params, delta) {
          check(params, delta);
          const p = init(params.length);
          const [mo, mn] = [m!, m2!];
          for (let i = 0; i < params.length; i++) {
            mn[i] = beta1 * mo[i]! + delta[i]!;
            p[i] = params[i]! + lr * mn[i]!;
          }
          return commit(params, p);
        },
      };
    case 'fedadagrad':
    case 'fedadam':
    case 'fedyogi':
      return {
        name,
        lr,
        step(params, delta) {
          check(params, delta);
          const p = init(params.length);
          const [mo, mn, vo, vn] = [m!, m2!, v!, v2!];
          for (let i = 0; i < params.length; i++) {
            const d = delta[i]!;
            const d2 = d * d;
            mn[i] = beta1 * mo[i]! + (1 - beta1) * d;
            const vp = vo[i]!;
            if (name === 'fedadagrad') vn[i] = vp + d2;
            else if (name === 'fedadam') vn[i] = beta2 * vp + (1 - beta2) * d2;
            else vn[i] = vp - (1 - beta2) * d2 * Math.sign(vp - d2);
            p[i] = params[i]! + (lr * mn[i]!) / (Math.sqrt(vn[i]!) + tau);
          }
          return commit(params, p);
        },
      };
    default:
      throw invalidArgument('optimizer', '"fedavg", "fedavgm", "fedadagrad", "fedadam" or "fedyogi"', name);
  }
}
