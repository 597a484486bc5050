// The binomial distribution in float64, accurate in the tails (what the one-run audit's p-value
// needs). The probability mass uses Loader's saddle-point form (C. Loader 2000, "Fast and
// Accurate Computation of Binomial Probabilities", the algorithm behind R's dbinom):
//   P[B = k] = e^{−(stirlerr(n) − stirlerr(k) − stirlerr(n−k) − bd0(k, nq) − bd0(n−k, n(1−q)))}
//              / √(2π k (n−k)/n),
// with stirlerr(n) = ln n! − ln(√(2πn)(n/e)^n) and bd0(x, y) = x ln(x/y) + y − x evaluated
// without cancellation; relative error a few ulps even for n in the billions, where summing
// ln Γ terms loses ~n·1e-16 in the exponent. q enters through ln q and ln(1 − q), so ε up to
// hundreds (q = 1 − 1e-100) keeps its tail.
import { logGamma } from './beta.js';

const LN_2PI = Math.log(2 * Math.PI);

/** ln n! − ln(√(2πn) (n/e)^n) for integer n ≥ 1 (Loader 2000, §2). */
function stirlerr(n: number): number {
  if (n <= 15) return logGamma(n + 1) - (n + 0.5) * Math.log(n) + n - 0.5 * LN_2PI;
  const nn = n * n;
  const S0 = 1 / 12;
  const S1 = 1 / 360;
  const S2 = 1 / 1260;
  const S3 = 1 / 1680;
  const S4 = 1 / 1188;
  if (n > 500) return (S0 - S1 / nn) / n;
  if (n > 80) return (S0 - (S1 - S2 / nn) / nn) / n;
  if (n > 35) return (S0 - (S1 - (S2 - S3 / nn) / nn) / nn) / n;
  return (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / n;
}

/** x ln(x/y) + y − x, without cancellation when x ≈ y (Loader 2000, §3). */
function bd0(x: number, y: number): number {
  if (Math.abs(x - y) < 0.1 * (x + y)) {
    const v = (x - y) / (x + y);
    let s = (x - y) * v;
    let ej = 2 * x * v;
    const v2 = v * v;
    for (let j = 1; j < 1000; j++) {
      ej *= v2;
      const s1 = s + ej / (2 * j + 1);
      if (s1 === s) return s1;
      s = s1;
    }
    return s;
  }
  return x * Math.log(x / y) + y - x;
}

/**
 * ln P[B = k] for B ~ Binomial(n, q), q given as ln q and ln(1 − q) (both ≤ 0; −Infinity
 * allowed for q ∈ {0, 1}).
 */
export function binomialLogPmf(k: number, n: number, logQ: number, log1mQ: number): number {
  if (k < 0 || k > n) return -Infinity;
  if (k === 0) return n === 0 ? 0 : n * log1mQ;
  if (k === n) return n * logQ;
  if (logQ === -Infinity || log1mQ === -Infinity) return -Infinity;
  const q = Math.exp(logQ);
  const p = Math.exp(log1mQ);
  // Loader's form needs n·q and n·(1 − q) as numbers; both are positive here.
  const lc = stirlerr(n) - stirlerr(k) - stirlerr(n - k) - bd0(k, n * q) - bd0(n - k, n * p);
  return lc - 0.5 * (LN_2PI + Math.log(k) + Math.log1p(-k / n));
}
