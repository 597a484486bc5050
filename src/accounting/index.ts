// dpfl/accounting: privacy events, RDP and PLD accountants, calibration, the analytic Gaussian
// mechanism. Pure TypeScript: no native addon and no Node built-ins, so it bundles for a browser
// (scripts/check-pack.sh bundles it with esbuild --platform=browser).
export {
  gaussian,
  poissonSampledGaussian,
  sampledWithoutReplacementGaussian,
  laplace,
  composed,
  selfComposed,
  validateEvent,
  type DpEvent,
  type BaseEvent,
  type GaussianEvent,
  type PoissonSampledGaussianEvent,
  type SampledWithoutReplacementGaussianEvent,
  type LaplaceEvent,
  type ComposedEvent,
  type SelfComposedEvent,
} from './events.js';
export {
  Accountant,
  BudgetExceededError,
  computeEpsilon,
  type AccountantKind,
  type AccountantOptions,
  type AccountantState,
  type EpsilonReport,
  type EpsilonMethod,
  type HistoryEntry,
  type PrivacyAccountant,
  type PrivacyBudget,
} from './privacy-accountant.js';
export { rdpEpsilon, rdpCurve, rdpMaxSteps, type RdpEpsilon, type RdpOptions } from './rdp-accountant.js';
export {
  DEFAULT_RDP_ORDERS,
  rdpPoissonGaussian,
  rdpGaussian,
  rdpLaplace,
  rdpSampledWithoutReplacementGaussian,
  epsilonFromRdp,
  deltaFromRdp,
  epsilonAtOrder,
  epsilonAtOrderClassic,
} from './rdp.js';
export {
  pldEpsilon,
  pldDelta,
  DEFAULT_PLD_DISCRETIZATION,
  DEFAULT_PLD_GRID_BUDGET,
  type PldEpsilon,
  type PldOptions,
} from './pld-accountant.js';
// Internal machinery stays in its module (it takes internal structures or is plain numerics):
// pld.ts (discretize, composePlds, ...), pld-loss.ts, fft.ts, special.ts.
export { MAX_GRID_POINTS } from './pld.js';
export {
  calibrate,
  calibrateNoiseMultiplier,
  maxSteps,
  type CalibrateEventOptions,
  type CalibrateEventResult,
  type CalibrateOptions,
  type CalibrateResult,
  type MaxStepsOptions,
} from './calibrate.js';
export { gaussianDelta, gaussianEpsilon, gaussianEpsilonBracket, gaussianMu } from './analytic-gaussian.js';
