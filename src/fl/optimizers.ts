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
//
// FedAvg, FedAvgM and FedAdam run on the native kernels (nn.sgdUpdate, nn.adamUpdate) with the
// pseudo-gradient −Δ_t (gradScale −1), in float32 state; FedAdagrad and FedYogi, which no kernel
// has, stay a float64 loop here.
import { invalidArgument } from '../errors.js';
import { adamUpdate, sgdUpdate } from '../kernels/nn.js';
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
  /**
   * A copy of the optimizer's state (moments; empty for fedavg and before the first step), for a
   * checkpoint. setState puts such a copy back (a restarted server resumes bit-identically).
   */
  getState(): ServerOptimizerState;
  /** Restores getState() output; refuses arrays of the wrong kind or of a length other than dim. */
  setState(state: ServerOptimizerState, dim: number): void;
}

/** fedavgm / fedadam: m (and v) in float32; fedadagrad / fedyogi: m64, v64 in float64. */
export interface ServerOptimizerState {
  m?: Float32Array;
  v?: Float32Array;
  m64?: Float64Array;
  v64?: Float64Array;
}

function inUnit(name: string, value: unknown): number {
  const v = finiteNumber(name, value);
  if (!(v >= 0 && v < 1)) throw invalidArgument(name, 'in [0, 1)', v);
  return v;
}

// The Adam kernel's bias correction 1 − β^t is exactly 1 at this step (β^t underflows to 0), which
// gives the paper's uncorrected FedAdam.
const NO_BIAS_CORRECTION = Number.MAX_SAFE_INTEGER;

export function createServerOptimizer(
  name: ServerOptimizerName,
  options: ServerOptimizerOptions = {},
): ServerOptimizer {
  optionsObject('options', options);
  const adaptive = name === 'fedadagrad' || name === 'fedadam' || name === 'fedyogi';
  const lr = positiveFinite('lr', options.lr ?? (adaptive ? 0.01 : 1));
  const beta1 = inUnit('beta1', options.beta1 ?? 0.9);
  const beta2 = inUnit('beta2', options.beta2 ?? 0.99);
  const tau = positiveFinite('tau', options.tau ?? 1e-3);
  if (!['fedavg', 'fedavgm', 'fedadagrad', 'fedadam', 'fedyogi'].includes(name)) {
    throw invalidArgument('optimizer', '"fedavg", "fedavgm", "fedadagrad", "fedadam" or "fedyogi"', name);
  }
  // The step is formed in a second set of buffers and swapped in only when every value is finite.
  let m: Float32Array | undefined;
  let v: Float32Array | undefined;
  let m2: Float32Array | undefined;
  let v2: Float32Array | undefined;
  let next: Float32Array | undefined;
  // FedAdagrad and FedYogi: float64 state.
  let m64: Float64Array | undefined;
  let v64: Float64Array | undefined;
  let m64n: Float64Array | undefined;
  let v64n: Float64Array | undefined;
  const init = (params: Float32Array, delta: Float32Array): Float32Array => {
    if (params.length !== delta.length) {
      throw invalidArgument('delta.length', `params.length (${params.length})`, delta.length);
    }
    const d = params.length;
    if (next === undefined || next.length !== d) {
      next = new Float32Array(d);
      m = m2 = v = v2 = undefined;
      m64 = m64n = v64 = v64n = undefined;
    }
    if (name === 'fedavgm' || name === 'fedadam') {
      if (m === undefined) {
        m = new Float32Array(d);
        m2 = new Float32Array(d);
        if (name === 'fedadam') {
          v = new Float32Array(d).fill(tau * tau); // v_{−1} = τ²
          v2 = new Float32Array(d);
        }
      }
      m2!.set(m);
      if (v) v2!.set(v);
    } else if (name !== 'fedavg' && m64 === undefined) {
      m64 = new Float64Array(d);
      m64n = new Float64Array(d);
      v64 = new Float64Array(d).fill(tau * tau);
      v64n = new Float64Array(d);
    }
    next.set(params);
    return next;
  };
  const allFinite = (x: ArrayLike<number> | undefined) => {
    if (x) for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) return false;
    return true;
  };
  const commit = (params: Float32Array, p: Float32Array): boolean => {
    if (!allFinite(p) || !allFinite(m2) || !allFinite(v2)) return false;
    params.set(p);
    [m, m2] = [m2, m];
    [v, v2] = [v2, v];
    [m64, m64n] = [m64n, m64];
    [v64, v64n] = [v64n, v64];
    return true;
  };
  const step = (params: Float32Array, delta: Float32Array): boolean => {
    const p = init(params, delta);
    if (name === 'fedavg') {
      sgdUpdate(p, delta, { lr, gradScale: -1 }); // x + η Δ
    } else if (name === 'fedavgm') {
      // velocity = β·velocity − Δ = −m_t; x − η·velocity = x + η m_t.
      sgdUpdate(p, delta, { lr, momentum: beta1, velocity: m2!, gradScale: -1 });
    } else if (name === 'fedadam') {
      // m holds −m_t; x − η (−m_t) / (√v_t + τ).
      adamUpdate(p, delta, m2!, v2!, { lr, beta1, beta2, eps: tau, gradScale: -1, step: NO_BIAS_CORRECTION });
    } else {
      const [mo, mn, vo, vn] = [m64!, m64n!, v64!, v64n!];
      for (let i = 0; i < p.length; i++) {
        const d = delta[i]!;
        const d2 = d * d;
        mn[i] = beta1 * mo[i]! + (1 - beta1) * d;
        const vp = vo[i]!;
        vn[i] = name === 'fedadagrad' ? vp + d2 : vp - (1 - beta2) * d2 * Math.sign(vp - d2);
        p[i] = params[i]! + (lr * mn[i]!) / (Math.sqrt(vn[i]!) + tau);
      }
    }
    return commit(params, p);
  };
  const getState = (): ServerOptimizerState => ({
    ...(m ? { m: Float32Array.from(m) } : {}),
    ...(v ? { v: Float32Array.from(v) } : {}),
    ...(m64 ? { m64: Float64Array.from(m64) } : {}),
    ...(v64 ? { v64: Float64Array.from(v64) } : {}),
  });
  const setState = (state: ServerOptimizerState, dim: number): void => {
    optionsObject('state', state);
    // The state this optimizer keeps, and nothing else: a checkpoint of another optimizer is refused.
    const wanted: (keyof ServerOptimizerState)[] =
      name === 'fedavgm' ? ['m'] : name === 'fedadam' ? ['m', 'v'] : name === 'fedavg' ? [] : ['m64', 'v64'];
    const present = (['m', 'v', 'm64', 'v64'] as const).filter((k) => state[k] !== undefined);
    if (present.length > 0 && present.join() !== wanted.join())
      throw invalidArgument('state', `the state of ${name} (${wanted.join(', ') || 'none'})`, present.join(', '));
    for (const k of present) {
      const a = state[k]!;
      const kind = k.endsWith('64') ? Float64Array : Float32Array;
      if (!(a instanceof kind) || a.length !== dim)
        throw invalidArgument(`state.${k}`, `a ${kind.name} of length ${dim}`, a);
    }
    next = new Float32Array(dim);
    m = m2 = v = v2 = undefined;
    m64 = m64n = v64 = v64n = undefined;
    if (state.m) [m, m2] = [Float32Array.from(state.m), new Float32Array(dim)];
    if (state.v) [v, v2] = [Float32Array.from(state.v), new Float32Array(dim)];
    if (state.m64) [m64, m64n] = [Float64Array.from(state.m64), new Float64Array(dim)];
    if (state.v64) [v64, v64n] = [Float64Array.from(state.v64), new Float64Array(dim)];
  };
  return { name, lr, step, getState, setState };
}
