// SecAgg+ for dpfl/fl/client: the client's side of the protocol and its messages (isomorphic).
export { SecAggClient, checkConfig, MAX_NEIGHBOURS, SHARE_BYTES } from './client.js';
export { SecAggError, type SecAggErrorReason } from './errors.js';
export { addMask, clipToNorm, dequantize, fromBase64Url, quantize, seedWords, toBase64Url } from './encoding.js';
export type {
  AdvertiseKeys,
  Roster,
  SecAggConfig,
  ShareInbox,
  ShareKeys,
  UnmaskRequest,
  UnmaskResponse,
} from './messages.js';
