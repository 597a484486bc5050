// dpfl/fl/client: the network client of a federation (`dpfl serve`): pure TypeScript over fetch and
// WebCrypto, no addon and no node:* import, so it runs in Node and in browsers.
export {
  joinFederation,
  type EvaluableModel,
  type JoinEvent,
  type JoinOptions,
  type JoinSummary,
} from './join.js';
export { FederationError, type BackoffOptions, type Fetch } from './http.js';
export { crc32, decodeFrame, encodeFrame, FRAME_HEADER_BYTES, FRAME_VERSION } from './wire.js';
export type { Frame, FrameError, FrameKind } from './wire.js';
export { PROTOCOL_VERSION, ROUTES } from './protocol.js';
export type {
  ErrorBody,
  EvaluationReport,
  RegisterRequest,
  RegisterResponse,
  StatusResponse,
  Task,
  TrainingPlan,
  UploadResponse,
} from './protocol.js';
export type { FlModel, LocalTrainingOptions } from '../model.js';
export type { Dataset } from '../../data/dataset.js';
// SecAgg+ (Bonawitz et al. 2017 with Bell et al.'s sparse graph): the client's side of the protocol.
export { SecAggClient, SecAggError, type SecAggErrorReason } from './secagg/index.js';
export type {
  AdvertiseKeys,
  Roster,
  SecAggConfig,
  ShareInbox,
  ShareKeys,
  UnmaskRequest,
  UnmaskResponse,
} from './secagg/index.js';
