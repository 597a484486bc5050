// Public API of the privacy accounting library.
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
  createAccountant,
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
export {
  discretize,
  composePlds,
  compositionWidth,
  epsilonForDelta,
  deltaForEpsilon,
  MAX_GRID_POINTS,
  saddlePointTilt,
  type DiscretePld,
} from './pld.js';
export { subsampledGaussianLoss, laplaceLoss, type LossModel, type Tails } from './pld-loss.js';
export { calibrateNoiseMultiplier, maxSteps, type CalibrateOptions, type CalibrateResult, type MaxStepsOptions } from './calibrate.js';
export { gaussianDelta, gaussianEpsilon, gaussianEpsilonBracket, gaussianMu } from './analytic-gaussian.js';
export { fft, rfft, irfft } from './fft.js';
export { erfc, logErfc, normalCdf, normalSf, logNormalCdf, logNormalSf, logAddExp, logSubExp, logSumExp } from './special.js';
export { benchAccounting, type BenchRow } from './bench.js';
