// Special functions the accountants need, accurate in the far tails: log-sum-exp helpers, erfc and
// the normal tail in linear and log space.
//
// erfc follows W. J. Cody, "Rational Chebyshev approximations for the error function",
// Math. Comp. 23 (1969) 631–638 (the SPECFUN CALERF coefficient sets): ~1e-16 relative accuracy on
// the whole real line, computed as exp(-x²)·erfcx(x) so that the tail never loses relative precision
// (log erfc is finite far beyond the point where erfc underflows).

/** log(e^a + e^b), exact for infinite arguments. */
export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  if (a === Infinity || b === Infinity) return Infinity;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/** log(e^a − e^b) for a ≥ b; −∞ when a = b. Throws when a < b (a negative result has no log). */
export function logSubExp(a: number, b: number): number {
  if (b === -Infinity) return a;
  if (a < b) throw new RangeError(`logSubExp: a must be >= b, received a=${a}, b=${b}`);
  if (a === b) return -Infinity;
  return a + log1mExp(b - a);
}

/** log(1 − e^x) for x ≤ 0, accurate for x near 0 and for x very negative (Mächler 2012). */
export function log1mExp(x: number): number {
  if (x > 0) return NaN;
  return x > -Math.LN2 ? Math.log(-Math.expm1(x)) : Math.log1p(-Math.exp(x));
}

/** log Σ e^{x_i} over an array. */
export function logSumExp(xs: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < xs.length; i++) if ((xs[i] as number) > max) max = xs[i] as number;
  if (max === -Infinity || max === Infinity) return max;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += Math.exp((xs[i] as number) - max);
  return max + Math.log(s);
}

/**
 * A signed accumulator in log space: holds s·e^{l}. Used by series whose terms alternate in sign
 * (the fractional-order RDP series of Mironov, Talwar and Zhang 2019).
 */
export class SignedLogSum {
  sign = 0; // −1, 0 or +1
  log = -Infinity;

  add(sign: number, logMagnitude: number): void {
    if (sign === 0 || logMagnitude === -Infinity) return;
    if (this.sign === 0) {
      this.sign = sign;
      this.log = logMagnitude;
      return;
    }
    if (sign === this.sign) {
      this.log = logAddExp(this.log, logMagnitude);
    } else if (logMagnitude < this.log) {
      this.log = logSubExp(this.log, logMagnitude);
    } else if (logMagnitude > this.log) {
      this.log = logSubExp(logMagnitude, this.log);
      this.sign = sign;
    } else {
      this.sign = 0;
      this.log = -Infinity;
    }
  }
}

// Cody (1969) coefficient sets: A/B erf on [0, 0.46875]; C/D erfcx on (0.46875, 4]; P/Q erfcx on (4, ∞).
const A = [3.1611237438705656, 113.864154151050156, 377.485237685302021, 3209.37758913846947, 0.185777706184603153];
const B = [23.6012909523441209, 244.024637934444173, 1282.61652607737228, 2844.23683343917062];
const C = [
  0.564188496988670089, 8.88314979438837594, 66.1191906371416295, 298.635138197400131, 881.95222124176909,
  1712.04761263407058, 2051.07837782607147, 1230.33935479799725, 2.15311535474403846e-8,
];
const D = [
  15.7449261107098347, 117.693950891312499, 537.181101862009858, 1621.38957456669019, 3290.79923573345963,
  4362.61909014324716, 3439.36767414372164, 1230.33935480374942,
];
const P = [
  0.305326634961232344, 0.360344899949804439, 0.125781726111229246, 0.0160837851487422766, 6.58749161529837803e-4,
  0.0163153871373020978,
];
const Q = [
  2.56852019228982242, 1.87295284992346047, 0.527905102951428412, 0.0605183413124413191, 0.00233520497626869185,
];
const INV_SQRT_PI = 0.56418958354775628695;

function erfSmall(x: number): number {
  // |x| ≤ 0.46875
  const z = x * x;
  let num = (A[4] as number) * z;
  let den = z;
  for (let i = 0; i < 3; i++) {
    num = (num + (A[i] as number)) * z;
    den = (den + (B[i] as number)) * z;
  }
  return (x * (num + (A[3] as number))) / (den + (B[3] as number));
}

/** erfcx(x) = e^{x²}·erfc(x) for x > 0.46875 (no overflow, full relative precision). */
function erfcxLarge(y: number): number {
  if (y <= 4) {
    let num = (C[8] as number) * y;
    let den = y;
    for (let i = 0; i < 7; i++) {
      num = (num + (C[i] as number)) * y;
      den = (den + (D[i] as number)) * y;
    }
    return (num + (C[7] as number)) / (den + (D[7] as number));
  }
  const z = 1 / (y * y);
  let num = (P[5] as number) * z;
  let den = z;
  for (let i = 0; i < 4; i++) {
    num = (num + (P[i] as number)) * z;
    den = (den + (Q[i] as number)) * z;
  }
  const r = (z * (num + (P[4] as number))) / (den + (Q[4] as number));
  return (INV_SQRT_PI - r) / y;
}

/** e^{−y²} computed as Cody does, splitting y² so the rounding of y² does not cost relative accuracy. */
function expMinusSquare(y: number): number {
  const ysq = Math.trunc(y * 16) / 16;
  const del = (y - ysq) * (y + ysq);
  return Math.exp(-ysq * ysq) * Math.exp(-del);
}

/** The complementary error function, relative accuracy ~1e-16 everywhere (underflows past x ≈ 26.5). */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const y = Math.abs(x);
  if (y <= 0.46875) return 1 - erfSmall(x);
  const r = y > 27.3 ? 0 : expMinusSquare(y) * erfcxLarge(y);
  return x < 0 ? 2 - r : r;
}

/** log erfc(x), finite and accurate for all finite x (including x ≫ 27 where erfc underflows). */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return -Infinity;
  if (x <= 0.46875) return Math.log(erfc(x));
  const ysq = Math.trunc(x * 16) / 16;
  const del = (x - ysq) * (x + ysq);
  return -ysq * ysq - del + Math.log(erfcxLarge(x));
}

/** Standard normal upper tail P(Z > z) = Φ(−z). */
export function normalSf(z: number): number {
  return 0.5 * erfc(z * Math.SQRT1_2);
}

/** Standard normal CDF Φ(z). */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z * Math.SQRT1_2);
}

/** log P(Z > z), accurate in the far upper tail. */
export function logNormalSf(z: number): number {
  return logErfc(z * Math.SQRT1_2) - Math.LN2;
}

/** log Φ(z), accurate in the far lower tail. */
export function logNormalCdf(z: number): number {
  return logErfc(-z * Math.SQRT1_2) - Math.LN2;
}
