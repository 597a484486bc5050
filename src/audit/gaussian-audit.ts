// Auditing a mechanism where auditing is cheap: the Gaussian mechanism on a sum of records in
// [0, 1] (sensitivity 1), with one canary record present or absent — the one-example difference
// DP is about. Each trial draws b ∈ {0, 1} at random, releases (Σ others + b) + N(0, σ²) with
// dpfl's own noise kernel, and the auditor (who knows Σ others) scores the release. Every trial
// is an independent run (fresh b, fresh noise), so the independent-trials bound applies. Threshold
// tests on many trials bound ε from below (Jagielski et al. 2020; Nasr et al. 2021): for a
// correctly calibrated σ the bound stays below the claimed ε; a mechanism whose noise is scaled
// wrong (e.g. 10× too small) is caught, its audited bound far above what it claims.
// σ for a claimed (ε, δ) is the exact analytic calibration (Balle and Wang 2018, Thm. 8).
import { calibrate, gaussian, gaussianEpsilon } from '../accounting/index.js';
import { invalidArgument } from '../errors.js';
import {
  booleanValue,
  integerIn,
  numberValue,
  openUnitInterval,
  positiveFinite,
  requiredObject,
  stringValue,
} from '../validate.js';
import { addGaussianNoise } from '../kernels/noise.js';
import { independentTrialsEpsilon, type EmpiricalEpsilon } from './epsilon-bound.js';
import { Random } from './train-adapter.js';

/**
 * The smallest σ for which the sensitivity-1 Gaussian mechanism is (ε, δ)-DP: the one calibration
 * (accounting's `calibrate`) under the PLD accountant, whose ε for one Gaussian is the exact closed form,
 * at a relative tolerance of 1e-12 (the result meets ε, never exceeds it).
 */
export function gaussianSigma(epsilon: number, delta: number): number {
  positiveFinite('epsilon', epsilon);
  openUnitInterval('delta', delta);
  return calibrate({
    eventOf: (s) => gaussian({ noiseMultiplier: s }),
    targetEpsilon: epsilon,
    delta,
    accountant: 'pld',
    tolerance: 1e-12,
  }).noiseMultiplier;
}

export interface GaussianAuditOptions {
  /** The ε the mechanism claims (σ is calibrated for it). */
  epsilon: number;
  delta: number;
  /** Multiplies the calibrated σ: 1 is the correct mechanism, 0.1 a broken one (default 1). */
  noiseScale?: number;
  /** Trials (half choose the threshold, half certify; default 20000). */
  trials?: number;
  seed?: number;
  confidence?: number;
}

export interface GaussianAudit {
  claimedEpsilon: number;
  delta: number;
  /** The σ the claim needs and the σ actually used. */
  calibratedSigma: number;
  sigma: number;
  /** The exact ε of the mechanism as run (Balle and Wang 2018). */
  trueEpsilon: number;
  /** The audited lower bound and how it was certified. */
  audit: EmpiricalEpsilon;
  /** true when the audited lower bound exceeds the claimed ε: the claim is false. */
  violated: boolean;
}

/** Trials per audit: the threshold search is O(trials) Clopper–Pearson intervals, minutes at 10^6. */
const MAX_TRIALS = 10 ** 6;

export function auditGaussianMechanism(options: GaussianAuditOptions): GaussianAudit {
  const o = requiredObject('options', options);
  const epsilon = o.epsilon as number;
  const delta = o.delta as number;
  const noiseScale = o.noiseScale === undefined ? 1 : positiveFinite('noiseScale', o.noiseScale);
  const trials =
    o.trials === undefined ? 20000 : integerIn('trials', o.trials, 8, MAX_TRIALS, `an integer in [8, ${MAX_TRIALS}]`);
  const seed =
    o.seed === undefined ? 1 : integerIn('seed', o.seed, 0, Number.MAX_SAFE_INTEGER, 'a non-negative integer');
  if (o.confidence !== undefined) openUnitInterval('confidence', o.confidence);
  const calibratedSigma = gaussianSigma(epsilon, delta);
  const sigma = calibratedSigma * noiseScale;
  if (!(sigma > 0 && sigma < Infinity)) {
    const expected = `a factor giving a positive finite σ (calibrated σ = ${calibratedSigma})`;
    throw invalidArgument('noiseScale', expected, noiseScale);
  }
  const rng = new Random(seed);
  const labels = new Uint8Array(trials);
  const releases = new Float32Array(trials);
  for (let i = 0; i < trials; i++) {
    labels[i] = rng.below(2);
    releases[i] = labels[i]!; // Σ others is known to the auditor and subtracted: the release minus it.
  }
  addGaussianNoise(releases, sigma, { seed: BigInt(seed), stream: 0, offset: 0 });
  // The likelihood-ratio test of N(1, σ²) against N(0, σ²) thresholds the release itself.
  const confidence = o.confidence !== undefined ? { confidence: o.confidence as number } : {};
  const audit = independentTrialsEpsilon(releases, labels, { delta, ...confidence });
  return {
    claimedEpsilon: epsilon,
    delta,
    calibratedSigma,
    sigma,
    trueEpsilon: gaussianEpsilon(1 / sigma, delta),
    audit,
    violated: audit.epsilon > epsilon,
  };
}

export class PrivacyClaimViolated extends Error {
  readonly code = 'ERR_DPFL_PRIVACY_VIOLATED';

  constructor(message: string) {
    // Error() would call a non-string's toString (which may throw, or be missing).
    stringValue('message', message);
    super(message);
  }
}

/** Throws when an audit refutes the mechanism's claim (the loud failure a broken mechanism earns). */
export function assertClaimHolds(result: GaussianAudit): void {
  const r = requiredObject('result', result);
  if (!booleanValue('result.violated', r.violated)) return;
  const audit = requiredObject('result.audit', r.audit);
  const claimed = numberValue('result.claimedEpsilon', r.claimedEpsilon);
  const delta = numberValue('result.delta', r.delta);
  const audited = numberValue('result.audit.epsilon', audit.epsilon);
  const confidence = numberValue('result.audit.confidence', audit.confidence);
  const sigma = numberValue('result.sigma', r.sigma);
  const needed = numberValue('result.calibratedSigma', r.calibratedSigma);
  throw new PrivacyClaimViolated(
    `privacy claim violated: the mechanism claims ε = ${claimed} at δ = ${delta}, but the audit certifies ` +
      `ε ≥ ${audited.toFixed(3)} at ${(confidence * 100).toFixed(0)}% confidence (noise σ = ${sigma.toPrecision(4)}, ` +
      `the claim needs σ ≥ ${needed.toPrecision(4)})`,
  );
}
