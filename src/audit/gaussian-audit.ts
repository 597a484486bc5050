// Auditing a mechanism where auditing is cheap: the Gaussian mechanism on a sum of records in
// [0, 1] (sensitivity 1), with one canary record present or absent — the one-example difference
// DP is about. Each trial draws b ∈ {0, 1} at random, releases (Σ others + b) + N(0, σ²) with
// dpfl's own noise kernel, and the auditor (who knows Σ others) scores the release. Every trial
// is an independent run (fresh b, fresh noise), so the independent-trials bound applies. Threshold
// tests on many trials bound ε from below (Jagielski et al. 2020; Nasr et al. 2021): for a
// correctly calibrated σ the bound stays below the claimed ε; a mechanism whose noise is scaled
// wrong (e.g. 10× too small) is caught, its audited bound far above what it claims.
// σ for a claimed (ε, δ) is the exact analytic calibration (Balle and Wang 2018, Thm. 8).
import { gaussianDelta, gaussianEpsilon } from '../accounting/index.js';
import { invalidArgument } from '../errors.js';
import { addGaussianNoise } from '../kernels/noise.js';
import { independentTrialsEpsilon, type EmpiricalEpsilon } from './epsilon-bound.js';
import { Random } from './train-adapter.js';

/** The smallest σ for which the sensitivity-1 Gaussian mechanism is (ε, δ)-DP (bisection on μ = 1/σ). */
export function gaussianSigma(epsilon: number, delta: number): number {
  if (typeof epsilon !== 'number' || !(epsilon > 0) || !Number.isFinite(epsilon)) throw invalidArgument('epsilon', 'a positive finite number', epsilon);
  if (typeof delta !== 'number' || !(delta > 0 && delta < 1)) throw invalidArgument('delta', 'in (0, 1)', delta);
  let lo = 0;
  let hi = 1;
  while (gaussianDelta(hi, epsilon) < delta) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-14 * hi; i++) {
    const mid = 0.5 * (lo + hi);
    if (gaussianDelta(mid, epsilon) <= delta) lo = mid;
    else hi = mid;
  }
  return 1 / lo;
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

export function auditGaussianMechanism(options: GaussianAuditOptions): GaussianAudit {
  const { epsilon, delta } = options;
  const noiseScale = options.noiseScale ?? 1;
  if (typeof noiseScale !== 'number' || !(noiseScale > 0) || !Number.isFinite(noiseScale)) throw invalidArgument('noiseScale', 'a positive finite number', noiseScale);
  const trials = options.trials ?? 20000;
  if (!Number.isSafeInteger(trials) || trials < 8) throw invalidArgument('trials', 'an integer ≥ 8', trials);
  const seed = options.seed ?? 1;
  const calibratedSigma = gaussianSigma(epsilon, delta);
  const sigma = calibratedSigma * noiseScale;
  const rng = new Random(seed);
  const labels = new Uint8Array(trials);
  const releases = new Float32Array(trials);
  for (let i = 0; i < trials; i++) {
    labels[i] = rng.below(2);
    releases[i] = labels[i]!; // Σ others is known to the auditor and subtracted: the release minus it.
  }
  addGaussianNoise(releases, sigma, { seed: BigInt(seed), stream: 0, offset: 0 });
  // The likelihood-ratio test of N(1, σ²) against N(0, σ²) thresholds the release itself.
  const confidence = options.confidence !== undefined ? { confidence: options.confidence } : {};
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
}

/** Throws when an audit refutes the mechanism's claim (the loud failure a broken mechanism earns). */
export function assertClaimHolds(result: GaussianAudit): void {
  if (result.violated) {
    throw new PrivacyClaimViolated(
      `privacy claim violated: the mechanism claims ε = ${result.claimedEpsilon} at δ = ${result.delta}, but the audit certifies ε ≥ ${result.audit.epsilon.toFixed(3)} at ${(result.audit.confidence * 100).toFixed(0)}% confidence (noise σ = ${result.sigma.toPrecision(4)}, the claim needs σ ≥ ${result.calibratedSigma.toPrecision(4)})`,
    );
  }
}
