// The HTTP protocol between `dpfl serve` (src/fl/net) and its clients (dpfl/fl/client): routes and
// JSON message shapes, shared by both sides. Pure TypeScript (runs in browsers).
//
// Every request carries `Authorization: Bearer <token>`; a client token is `<client id>.<secret>`
// (issued by `dpfl serve token`), the server keeps only a hash of the secret. Control messages are
// JSON; a model download and an update upload are binary (application/octet-stream; uploads in the
// frame of wire.ts). Errors answer with a status code and an ErrorBody.
//
// A round, from one client's side:
//   POST /v1/register            once: {samples} → RegisterResponse
//   GET  /v1/task                poll: 200 Task when selected for the open round (and not yet
//                                uploaded), else 204 with Retry-After (seconds); 410 {error:
//                                'finished'} once the federation has run all its rounds (or its
//                                privacy budget is spent): stop polling; 403 before registering
//   GET  /v1/model?round=r       the global model of round r: float32 little-endian, dim values,
//                                header x-dpfl-crc32 (CRC-32 of the body, decimal)
//   POST /v1/update?round=r      the update frame (kind 'float32'; 'masked' with secure aggregation)
//                                → UploadResponse. Once per selected client per round: a second
//                                upload is refused (409), an unselected client is refused (403), an
//                                upload for a closed round 410 {error: 'late'}, a malformed frame
//                                400 'badFrame' (not counted: the client may resend), an update the
//                                round rules refuse 422 'rejected' (counted: the client's report).
//   POST /v1/evaluate            EvaluationReport of the global model on local data → 204
// Secure aggregation (SecAgg+, when the task says so) adds its stages before and after the upload
// under /v1/secagg/* (see src/fl/client/secagg).
//   GET  /v1/status              StatusResponse (any valid token)
export const PROTOCOL_VERSION = 1;

export const ROUTES = {
  register: '/v1/register',
  task: '/v1/task',
  model: '/v1/model',
  update: '/v1/update',
  evaluate: '/v1/evaluate',
  status: '/v1/status',
  secagg: '/v1/secagg',
} as const;

/** The body of every error response. */
export interface ErrorBody {
  /** A stable code: 'unauthorized' (401), 'forbidden' (403), 'notSelected' (403), 'duplicate' (409),
   *  'conflict' (409), 'late' (410), 'finished' (410), 'badFrame' (400), 'badRequest' (400, 405),
   *  'rejected' (422), 'tooLarge' (413), 'rateLimited' (429, with Retry-After), 'notFound' (404),
   *  'unavailable' (503), 'internal' (500). */
  error: string;
  /** For 'badFrame' the FrameError, for 'rejected' the FederatedServer RejectReason. */
  reason?: string;
  message: string;
}

export interface RegisterRequest {
  /** Examples on the device now (the client's activity n_k; the server may cap it). */
  samples: number;
  /** Client software, for the server's log. */
  agent?: string;
}

export interface RegisterResponse {
  protocol: number;
  client: number;
  /** Model dimension: every update carries exactly dim values. */
  dim: number;
}

export interface TrainingPlan {
  epochs: number;
  batchSize: number;
  lr: number;
  mu: number;
}

export interface Task {
  round: number;
  /** Unix milliseconds after which an upload for this round is late (absent: no deadline). */
  deadline?: number;
  training: TrainingPlan;
  /** When the server runs secure aggregation this round: the client clips its update to clipNorm
   *  and follows the SecAgg+ stages; absent for plain uploads. */
  secureAggregation?: { clipNorm: number; scale: number; neighbours: number; threshold: number };
  /** True when the client should also evaluate the global model on its data and POST /v1/evaluate. */
  evaluate: boolean;
}

export interface UploadResponse {
  status: 'accepted';
  round: number;
}

export interface EvaluationReport {
  round: number;
  samples: number;
  /** Named metrics, each a finite number (e.g. accuracy, loss). */
  metrics: Record<string, number>;
}

export interface StatusResponse {
  protocol: number;
  round: number;
  /** Whether a round is open (clients selected, uploads accepted). */
  open: boolean;
  roundsDone: number;
  roundsTotal: number;
  registered: number;
  /** Per finished round: what FederatedServer's RoundReport says (counts obey `statistics`). */
  history: Record<string, unknown>[];
  /** Federated evaluation of the last evaluated round: sample-weighted mean of each metric. */
  evaluation?: { round: number; clients: number; samples: number; metrics: Record<string, number> };
  /** ε spent so far at δ (DP-FedAvg only). */
  epsilon?: number;
  delta?: number;
}
