// Privacy auditing: membership inference, canary exposure, empirical ε lower bounds.
// beta.ts (ln Γ, ln B, the incomplete beta and its inverse) is internal math: not exported (issue 13).
export { clopperPearson, type ProportionInterval } from './clopper-pearson.js';
export {
  rocCurve,
  auc,
  tprAtFpr,
  advantage,
  balancedAccuracy,
  attackMetrics,
  type RocCurve,
  type AttackMetrics,
} from './roc.js';
export {
  epsilonFromCounts,
  independentTrialsEpsilon,
  empiricalEpsilon,
  INDEPENDENT_TRIALS_ASSUMPTIONS,
  type AttackCounts,
  type EpsilonBound,
  type EmpiricalEpsilon,
} from './epsilon-bound.js';
export {
  oneRunPValue,
  oneRunEpsilon,
  oneRunAudit,
  defaultGuessRules,
  drawMembership,
  ONE_RUN_ASSUMPTIONS,
  type OneRunCounts,
  type OneRunEpsilon,
  type OneRunAudit,
  type GuessCounts,
} from './one-run.js';
export { rocSvg, type RocPlotCurve, type RocPlotOptions } from './roc-svg.js';
export { lossThresholdScores } from './loss-attack.js';
export { liraScores, type LiraOptions } from './lira.js';
export { makeCanaries, canaryText, exposure, CANARY_TEMPLATE, type Canary } from './canaries.js';
export { extractCanary, type ExtractCanaryOptions, type CanaryExtraction } from './modiva.js';
export {
  auditGaussianMechanism,
  assertClaimHolds,
  PrivacyClaimViolated,
  type GaussianAudit,
  type GaussianAuditOptions,
} from './gaussian-audit.js';
export {
  runAudit,
  type AuditConfig,
  type AuditResult,
  type RegimeResult,
  type AttackResult,
  type MembershipDraw,
  type CanaryRow,
  type CanaryResult,
  type TrainingSettings,
  type CanarySettings,
  type WhiteBoxSettings,
  type WhiteBoxRow,
} from './run-audit.js';
export { auditSummary, auditTable } from './report.js';
