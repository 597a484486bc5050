// Privacy loss distributions (PLD) on a grid of spacing Δ: discretisation, composition by FFT and
// the ε(δ) read-out.
//
// A discrete PLD is a mass p_j at loss ℓ_j = (offset + j)·Δ plus a mass at +∞. Its δ curve is
//   δ(ε) = p_∞ + Σ_j p_j·(1 − e^{ε − ℓ_j})₊                          (Meiser & Mohammadi 2018;
// Koskela, Jälkö and Honkela 2020; Sommer, Meiser and Mohammadi 2019). δ(ε) = h(e^ε) with
// h(x) = E[(1 − x·e^{−L})₊] convex in x; for independent losses h_{L₁+L₂}(x) = E[h_{L₁}(x·e^{−L₂})],
// so a pointwise upper (lower) bound on each step's h gives an upper (lower) bound on the composition.
//
// - Pessimistic (upper) estimate: "connect the dots" (Doroshenko, Ghazi, Kamath, Kumar, Manurangsi
//   2022, "Connect the Dots: Tighter Discrete Approximations of Privacy Loss Distributions"). The
//   mass of each cell (a, b] is split between a and b so that both the mass and E[e^{−L}] are kept;
//   on [e^a, e^b] the new h is the chord of the convex true h, everywhere ≥ h. Mass below the grid
//   is moved up to its first point, mass above it goes to +∞.
// - Optimistic (lower) estimate: every cell's mass is moved down to a (and mass above the grid to its
//   last point, mass below it to −∞): the loss only decreases, so h only decreases.
//
// Composition multiplies spectra: the pmf is transformed once (real FFT), raised to the count in
// polar form (self-composition by exponentiation in the frequency domain), multiplied across
// events and transformed back. The FFT is circular: its size covers the composed support up to a
// Chernoff bound P(S ∉ [l, u]) ≤ 2η, and the at most 2η of mass that may wrap is charged to δ
// (added to the upper estimate, subtracted from the lower), as is the measured FFT round-off.

import { accountingPrecision } from './errors.js';
import { irfft, nextPowerOfTwo, rfft } from './fft.js';
import type { LossModel } from './pld-loss.js';

export interface DiscretePld {
  /** Grid spacing Δ of the losses. */
  readonly discretization: number;
  /** Loss of probs[0] is offset·Δ. */
  readonly offset: number;
  readonly probs: Float64Array;
  /** Mass at +∞ loss (δ(ε) ≥ this for every ε). */
  readonly infinityMass: number;
  /** Extra δ that must be charged to the δ(ε) of this pmf (+ for pessimistic, − for optimistic). */
  readonly deltaSlack: number;
  readonly pessimistic: boolean;
  /**
   * Error of an exponentially tilted composition (see composePlds): the δ(ε) read-out is off by at
   * most coef·e^{logScale − λ·ℓ₀(ε)}, ℓ₀(ε) the first grid loss above ε; coef carries the sign
   * (+ pessimistic, − optimistic).
   */
  readonly tiltError?: { readonly lambda: number; readonly logScale: number; readonly coef: number };
  /**
   * FFT round-off per bin (signed like tiltError.coef): δ(ε) is charged this times the number of
   * bins above ε (only those enter δ(ε)), rather than times every bin.
   */
  readonly roundOffPerBin?: number;
}

/** Per-step mass left outside the grid on each side (to +∞ above; moved up to the grid below). */
export const STEP_TAIL_MASS = 1e-24;

/**
 * Hard cap on the points of any grid (a step's pmf or the composed one; the FFT size is the next
 * power of two, so ≤ 2^22 Float64 values, 32 MiB per array). Beyond it the functions throw
 * ERR_DPFL_ACCOUNTING_PRECISION instead of allocating: the accountant then coarsens Δ or falls back.
 */
export const MAX_GRID_POINTS = 2 ** 22;

/** Largest grid index i with pred(i) true, given pred monotone decreasing in i and pred(start) true. */
function lastTrue(pred: (i: number) => boolean, start: number, direction: 1 | -1): number {
  // Gallop outward from start, then bisect.
  let good = start;
  let stepSize = 1;
  let bad = start + direction;
  while (pred(bad)) {
    good = bad;
    stepSize *= 2;
    bad = start + direction * stepSize;
    if (Math.abs(bad) > 1e12) {
      throw accountingPrecision('pld', 'the privacy-loss support is too wide for the discretization');
    }
  }
  while (Math.abs(bad - good) > 1) {
    const mid = good + direction * Math.floor(Math.abs(bad - good) / 2);
    if (pred(mid)) good = mid;
    else bad = mid;
  }
  return good;
}

/**
 * Discretises a loss model on the grid of spacing Δ. Tail masses below `tailMass` are cut (above
 * the grid: to +∞ for the pessimistic estimate; below it: moved up to the first point).
 */
export function discretize(
  model: LossModel,
  discretization: number,
  pessimistic: boolean,
  tailMass = STEP_TAIL_MASS,
): DiscretePld {
  const d = discretization;
  // Grid range [iLo, iHi]: P(L > iHi·Δ) ≤ tailMass, P(L ≤ iLo·Δ) ≤ tailMass, clipped to the support.
  let iHi: number;
  if (Number.isFinite(model.maxLoss)) iHi = Math.ceil(model.maxLoss / d - 1e-9);
  else {
    const start = Math.max(0, Math.ceil(model.minLoss / d));
    iHi = lastTrue((i) => model.tails(i * d).pAbove > tailMass, start, 1) + 1;
  }
  let iLo: number;
  if (Number.isFinite(model.minLoss)) iLo = Math.floor(model.minLoss / d + 1e-9);
  else {
    const start = Math.min(0, Math.floor(model.maxLoss / d));
    iLo = lastTrue((i) => model.tails(i * d).pBelow > tailMass, start, -1) - 1;
  }
  if (iHi <= iLo) iHi = iLo + 1;
  const n = iHi - iLo + 1;
  if (n > MAX_GRID_POINTS) {
    const why = `one step needs ${n} grid points at discretization ${d} (at most ${MAX_GRID_POINTS})`;
    throw accountingPrecision('pld', why);
  }
  const pA = new Float64Array(n);
  const qA = new Float64Array(n);
  const pB = new Float64Array(n);
  const qB = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const t = model.tails((iLo + k) * d);
    pA[k] = t.pAbove;
    qA[k] = t.qAbove;
    pB[k] = t.pBelow;
    qB[k] = t.qBelow;
  }
  const probs = new Float64Array(n);
  const oneMinusEmD = -Math.expm1(-d);
  for (let k = 0; k < n - 1; k++) {
    // Cell (a, b] = ((iLo+k)Δ, (iLo+k+1)Δ]: masses from whichever tail is smaller (relative precision).
    const pa = pA[k] as number;
    const pm = pa <= 0.5 ? pa - (pA[k + 1] as number) : (pB[k + 1] as number) - (pB[k] as number);
    if (!(pm > 0)) continue;
    if (!pessimistic) {
      probs[k] = (probs[k] as number) + pm;
      continue;
    }
    const qa = qA[k] as number;
    const qm = qa <= 0.5 ? qa - (qA[k + 1] as number) : (qB[k + 1] as number) - (qB[k] as number);
    const a = (iLo + k) * d;
    // Keep mass and E[e^{−L}]: w_a + w_b = P_m, w_a e^{−a} + w_b e^{−b} = Q_m.
    // e^a·Q_m in log space: a can exceed 709 (Q_m then underflows, and all mass goes up to b).
    let wb = (pm - (qm > 0 ? Math.exp(a + Math.log(qm)) : 0)) / oneMinusEmD;
    if (!(wb >= 0)) wb = 0;
    if (wb > pm) wb = pm;
    probs[k] = (probs[k] as number) + (pm - wb);
    probs[k + 1] = (probs[k + 1] as number) + wb;
  }
  let infinityMass = 0;
  if (pessimistic) {
    probs[0] = (probs[0] as number) + (pB[0] as number); // mass at or below the grid, moved up
    infinityMass = pA[n - 1] as number; // mass above the grid, to +∞
  } else {
    probs[n - 1] = (probs[n - 1] as number) + (pA[n - 1] as number); // mass above the grid, moved down
  }
  return { discretization: d, offset: iLo, probs, infinityMass, deltaSlack: 0, pessimistic };
}

/** log Σ_j p_j e^{λ ℓ_j}, the log moment generating function of the finite part. */
function logMgf(pld: DiscretePld, lambda: number): number {
  const { probs, offset, discretization: d } = pld;
  // The largest exponent is at the highest (λ > 0) or lowest (λ < 0) bin with mass: one pass.
  let lo = 0;
  let hi = probs.length - 1;
  while (lo <= hi && !((probs[lo] as number) > 0)) lo++;
  while (hi >= lo && !((probs[hi] as number) > 0)) hi--;
  if (lo > hi) return -Infinity;
  const max = lambda * (offset + (lambda >= 0 ? hi : lo)) * d;
  let s = 0;
  for (let j = lo; j <= hi; j++) {
    const p = probs[j] as number;
    if (p > 0) s += p * Math.exp(lambda * (offset + j) * d - max);
  }
  return max + Math.log(s);
}

/**
 * The tilt λ > 0 whose tilted composition has its mean at `loss`: Σ count·(log M)'(λ) = loss (the
 * saddle point; (log M)' is increasing). Bisection in log λ on [1e-3, 1e4]; the derivative by central
 * differences.
 */
export function saddlePointTilt(items: ReadonlyArray<{ pld: DiscretePld; count: number }>, loss: number): number {
  const slope = (l: number) => {
    const h = 1e-4 * l;
    let s = 0;
    for (const { pld, count } of items) {
      if (count > 0) s += (count * (logMgf(pld, l + h) - logMgf(pld, l - h))) / (2 * h);
    }
    return s;
  };
  let lo = Math.log(1e-3);
  let hi = Math.log(1e4);
  if (slope(Math.exp(lo)) >= loss) return Math.exp(lo);
  if (!(slope(Math.exp(hi)) >= loss)) return Math.exp(hi);
  for (let i = 0; i < 30; i++) {
    const mid = 0.5 * (lo + hi);
    if (slope(Math.exp(mid)) < loss) lo = mid;
    else hi = mid;
  }
  return Math.exp(hi);
}

const CHERNOFF_LAMBDAS = (() => {
  const out: number[] = [];
  for (let k = -12; k <= 14; k++) out.push(2 ** (k / 2));
  return out;
})();

interface CompositionRange {
  /** Support of the sum in grid units, and its Chernoff bounds in grid units (P(S ∉ [il, iu]) ≤ 2η). */
  minIdx: number;
  maxIdx: number;
  il: number;
  iu: number;
  shift: number;
  logSurvive: number;
  slack: number;
}

function compositionRange(
  active: ReadonlyArray<{ pld: DiscretePld; count: number }>,
  tailMass: number,
  tilt = 0,
): CompositionRange {
  const d = (active[0] as { pld: DiscretePld }).pld.discretization;
  // Support bounds of the sum S (in grid units) and Chernoff tail bounds.
  let minIdx = 0;
  let maxIdx = 0;
  let shift = 0;
  let logSurvive = 0; // log Π (1 − p∞)^count
  let slack = 0;
  for (const { pld, count } of active) {
    let lo = -1;
    let hi = -1;
    for (let j = 0; j < pld.probs.length; j++) {
      if ((pld.probs[j] as number) > 0) {
        if (lo < 0) lo = j;
        hi = j;
      }
    }
    if (lo < 0) lo = hi = 0;
    minIdx += count * (pld.offset + lo);
    maxIdx += count * (pld.offset + hi);
    shift += count * pld.offset;
    logSurvive += count * Math.log1p(-pld.infinityMass);
    // An already composed input: its per-bin round-off counts in full (every bin); a tilted one has
    // no such bound (its error grows without limit at low losses) and cannot be composed again.
    if (pld.tiltError) throw new RangeError('composePlds: a tilted composition cannot be composed again');
    slack += count * (pld.deltaSlack + (pld.roundOffPerBin ?? 0) * pld.probs.length);
  }
  const logEta = Math.log(tailMass);
  let upper = maxIdx * d;
  let lower = minIdx * d;
  for (const lambda of CHERNOFF_LAMBDAS) {
    let up = 0;
    let down = 0;
    for (const { pld, count } of active) {
      up += count * logMgf(pld, lambda);
      down += count * logMgf(pld, -lambda);
    }
    upper = Math.min(upper, (up - logEta) / lambda);
    lower = Math.max(lower, (logEta - down) / lambda);
  }
  if (tilt > 0) {
    // The tilted measure's mass must not wrap either: keep the union with its Chernoff range
    // (its log MGF at λ' is Σ count·(log M(tilt + λ') − log M(tilt))).
    const base = active.map(({ pld }) => logMgf(pld, tilt));
    let tu = maxIdx * d;
    let tl = minIdx * d;
    for (const lambda of CHERNOFF_LAMBDAS) {
      let up = 0;
      let down = 0;
      active.forEach(({ pld, count }, i) => {
        up += count * (logMgf(pld, tilt + lambda) - (base[i] as number));
        down += count * (logMgf(pld, tilt - lambda) - (base[i] as number));
      });
      tu = Math.min(tu, (up - logEta) / lambda);
      tl = Math.max(tl, (logEta - down) / lambda);
    }
    upper = Math.max(upper, tu);
    lower = Math.min(lower, tl);
  }
  let iu = Math.min(maxIdx, Math.ceil(upper / d));
  const il = Math.max(minIdx, Math.floor(lower / d));
  if (iu < il) iu = il;
  return { minIdx, maxIdx, il, iu, shift, logSurvive, slack };
}

/**
 * The width (in loss units) of the composition's support that composePlds would keep: what the
 * accountant uses to choose Δ so that the composed grid stays within its point budget.
 */
export function compositionWidth(items: ReadonlyArray<{ pld: DiscretePld; count: number }>, tailMass = 1e-15): number {
  const active = items.filter((it) => it.count > 0);
  if (active.length === 0) return 0;
  const r = compositionRange(active, tailMass);
  return (r.iu - r.il + 1) * (active[0] as { pld: DiscretePld }).pld.discretization;
}

/**
 * Composes pmfs (each `count` times) by FFT. All must share the discretisation and estimate type.
 * `tailMass` bounds each of the two tails cut by the circular FFT.
 *
 * With tilt λ > 0 the FFT runs on the exponentially tilted pmfs p_j·e^{λℓ_j}/M(λ) (M the moment
 * generating function), whose composition is the tilted composition; untilting multiplies bin s by
 * e^{Σ count·log M(λ) − λs}. FFT round-off is relative to the largest tilted bin, so the tail near
 * the tilt's saddle point (the loss s with Σ count·(log M)'(λ) = s, see saddlePointTilt) keeps its
 * relative precision instead of drowning in absolute errors of 1e-17. This is what makes δ = 1e-12
 * readable. (Exponential tilting / the Esscher transform; the same change of measure is
 * behind the saddle-point accountant of Alghamdi et al. 2023.)
 */
export function composePlds(
  items: ReadonlyArray<{ pld: DiscretePld; count: number }>,
  tailMass = 1e-15,
  tilt = 0,
): DiscretePld {
  const active = items.filter((it) => it.count > 0);
  const first = active[0];
  if (!first) throw new RangeError('composePlds: nothing to compose');
  // One step of one event: the pmf itself, exact (no FFT round-off to charge).
  if (active.length === 1 && first.count === 1) return first.pld;
  const d = first.pld.discretization;
  const pessimistic = first.pld.pessimistic;
  const { minIdx, maxIdx, il, iu, shift, logSurvive, slack } = compositionRange(active, tailMass, tilt);
  const logM = tilt > 0 ? active.map(({ pld }) => logMgf(pld, tilt)) : [];
  const truncated = (iu < maxIdx ? tailMass : 0) + (il > minIdx ? tailMass : 0);
  const width = iu - il + 1;
  if (width > MAX_GRID_POINTS) {
    const why = `the composition needs ${width} grid points at discretization ${d} (at most ${MAX_GRID_POINTS})`;
    throw accountingPrecision('pld', why);
  }
  const n = Math.max(2, nextPowerOfTwo(width));
  const h = n / 2;
  const accRe = new Float64Array(h + 1).fill(1);
  const accIm = new Float64Array(h + 1);
  active.forEach(({ pld, count }, i) => {
    const buf = new Float64Array(n);
    const lm = logM[i] ?? 0;
    for (let j = 0; j < pld.probs.length; j++) {
      let v = pld.probs[j] as number;
      if (tilt > 0 && v > 0) v = Math.exp(Math.log(v) + tilt * (pld.offset + j) * d - lm);
      buf[j % n] = (buf[j % n] as number) + v;
    }
    const { re, im } = rfft(buf);
    for (let k = 0; k <= h; k++) {
      const r = Math.hypot(re[k] as number, im[k] as number);
      if (r === 0) {
        accRe[k] = 0;
        accIm[k] = 0;
        continue;
      }
      const mag = Math.exp(count * Math.log(r));
      const ang = count * Math.atan2(im[k] as number, re[k] as number);
      const pr = mag * Math.cos(ang);
      const pi = mag * Math.sin(ang);
      const ar = accRe[k] as number;
      const ai = accIm[k] as number;
      accRe[k] = ar * pr - ai * pi;
      accIm[k] = ar * pi + ai * pr;
    }
  });
  const out = irfft(accRe, accIm, n);
  // A worst-case scale of the per-bin error: each coefficient X_k (|X_k| ≤ 1) carries ≈ ε·log2(n)
  // relative error, raising it to the power c multiplies that by c, and the inverse transform
  // averages the coefficients' errors: ≤ 4ε·log2(n)·(1 + Σ counts)·(1/n)Σ_k |X_k^c|, plus the
  // inverse transform's own error, 4ε·log2(n)·max bin (added below, once the bins are known).
  let totalCount = 0;
  for (const { count } of active) totalCount += count;
  let specSum = Math.hypot(accRe[0] as number, accIm[0] as number) + Math.hypot(accRe[h] as number, accIm[h] as number);
  for (let k = 1; k < h; k++) specSum += 2 * Math.hypot(accRe[k] as number, accIm[k] as number);
  let errorFloor = 4 * Number.EPSILON * Math.log2(n) * (1 + totalCount) * (specSum / n);
  const probs = new Float64Array(width);
  const base = (((il - shift) % n) + n) % n;
  let noise = 0;
  let outPeak = 0;
  for (let a = 0; a < width; a++) {
    const v = out[(base + a) % n] as number;
    if (v < 0) {
      noise = Math.max(noise, -v);
      probs[a] = 0;
    } else probs[a] = v;
    if (v > outPeak) outPeak = v;
  }
  errorFloor += 4 * Number.EPSILON * Math.log2(n) * outPeak;
  const sign = pessimistic ? 1 : -1;
  if (tilt > 0) {
    // Tilted values sum to 1. Per-bin error: the largest negative value seen (10× margin), at least
    // the worst-case scale errorFloor.
    let total = 0;
    let peak = 0;
    for (let a = 0; a < width; a++) {
      total += probs[a] as number;
      peak = Math.max(peak, probs[a] as number);
    }
    const binNoise = Math.max(10 * noise, errorFloor);
    if (!(Math.abs(total - 1) <= 1e-6 + 2 * tailMass + binNoise * width)) {
      const why = `the tilted composition has total mass ${total} instead of 1 (numerical failure)`;
      throw accountingPrecision('pld', why);
    }
    let logScale = 0;
    active.forEach(({ count }, i) => (logScale += count * (logM[i] as number)));
    for (let a = 0; a < width; a++) {
      const v = probs[a] as number;
      probs[a] = v > 0 ? Math.min(1, Math.exp(Math.log(v) + logScale - tilt * (il + a) * d)) : 0;
    }
    // δ error at ε: Σ_{s ≥ ℓ₀} binNoise·e^{logScale − λs} (a geometric series) + wrapped tilted mass 2η.
    const coef = binNoise / -Math.expm1(-tilt * d) + 2 * tailMass;
    return {
      discretization: d,
      offset: il,
      probs,
      infinityMass: -Math.expm1(logSurvive),
      deltaSlack: slack + sign * truncated,
      pessimistic,
      tiltError: { lambda: tilt, logScale, coef: sign * coef },
    };
  }
  // Round-off: every bin may be off by about the size of the largest negative value seen (10×
  // margin, at least errorFloor); δ(ε) is charged that for each bin above ε (pessimistic +,
  // optimistic −).
  const roundOff = Math.max(10 * noise, errorFloor) * width;
  // A pmf that lost or gained mass is garbage (overflowed spectrum, NaN): never read an ε from it.
  let total = -Math.expm1(logSurvive);
  for (let a = 0; a < width; a++) total += probs[a] as number;
  if (!(Math.abs(total - 1) <= 1e-6 + 2 * tailMass + roundOff)) {
    const why = `the composed distribution has total mass ${total} instead of 1 (numerical failure)`;
    throw accountingPrecision('pld', why);
  }
  return {
    discretization: d,
    offset: il,
    probs,
    infinityMass: -Math.expm1(logSurvive),
    deltaSlack: slack + sign * truncated,
    pessimistic,
    roundOffPerBin: sign * Math.max(10 * noise, errorFloor),
  };
}

/** The tilt error charged to δ(ε) when the first grid loss above ε is ℓ₀ (0 without tilt). */
function tiltSlack(pld: DiscretePld, firstLossAbove: number): number {
  const t = pld.tiltError;
  if (!t) return 0;
  const e = t.coef * Math.exp(t.logScale - t.lambda * firstLossAbove);
  return Number.isNaN(e) ? Infinity : e;
}

/** δ(ε) of a discrete PLD, including its slack. */
export function deltaForEpsilon(pld: DiscretePld, epsilon: number): number {
  const { probs, offset, discretization: d } = pld;
  let s = pld.infinityMass;
  let first = Math.floor(epsilon / d) + 1; // index (in grid units) of the first loss above ε
  let above = 0;
  for (let j = probs.length - 1; j >= 0; j--) {
    const loss = (offset + j) * d;
    if (loss <= epsilon) break;
    first = offset + j;
    above++;
    s += (probs[j] as number) * -Math.expm1(epsilon - loss);
  }
  const roundOff = (pld.roundOffPerBin ?? 0) * above;
  return Math.min(1, Math.max(0, s + pld.deltaSlack + roundOff + tiltSlack(pld, Math.max(first, offset) * d)));
}

/** The smallest ε ≥ 0 with δ(ε) ≤ δ (Infinity if the mass at +∞ and the slack already exceed δ). */
export function epsilonForDelta(pld: DiscretePld, delta: number): number {
  const target = delta - pld.deltaSlack;
  const { probs, offset, discretization: d } = pld;
  if (Number.isNaN(target) || Number.isNaN(pld.infinityMass)) throw accountingPrecision('pld', 'δ slack is NaN');
  if (target <= pld.infinityMass) return Infinity;
  // Walk down from the top: after processing index j, A = p∞ + Σ_{i≥j} p_i and
  // C = Σ_{i≥j} p_i e^{ℓ_j − ℓ_i} (relative to ℓ_j, so nothing overflows when losses exceed 709);
  // for ε ∈ [ℓ_{j−1}, ℓ_j], δ(ε) = A − e^{ε − ℓ_j}·C.
  let A = pld.infinityMass;
  let C = 0;
  let lowest = Infinity; // the lowest positive loss processed
  const decay = Math.exp(-d);
  // The tilt error at ℓ_j grows by e^{λΔ} per bin down: a recurrence, not an exp per bin.
  const growth = pld.tiltError ? Math.exp(pld.tiltError.lambda * d) : 1;
  let err = tiltSlack(pld, (offset + probs.length - 1) * d);
  const perBin = pld.roundOffPerBin ?? 0;
  for (let j = probs.length - 1; j >= 0; j--, err *= growth) {
    const loss = (offset + j) * d;
    const p = probs[j] as number;
    if (loss <= 0) break;
    A += p;
    C = C * decay + p;
    lowest = loss;
    const below = Math.max(0, (offset + j - 1) * d);
    // On this segment the first loss above ε is ℓ_j: the errors are constants.
    const t = target - err - perBin * (probs.length - j);
    // δ at the lower end of the segment [below, loss)
    const deltaBelow = A - (below > 0 ? decay : Math.exp(below - loss)) * C;
    if (deltaBelow > t) {
      // Crossing inside (below, loss]: A − e^{ε − ℓ_j}·C = t (clipped to ℓ_j when the error alone
      // exceeds δ).
      const eps = loss + Math.log((A - t) / C);
      return Math.max(below, Math.min(loss, eps));
    }
  }
  if (lowest < Infinity && C > 0) {
    // Below the lowest grid loss (all losses positive) δ(ε) = A − e^{ε − ℓ_min}·C keeps rising as ε → 0.
    const t = target - tiltSlack(pld, lowest) - perBin * probs.length;
    if (A - Math.exp(-lowest) * C > t) return Math.max(0, lowest + Math.log((A - t) / C));
  }
  return 0;
}
