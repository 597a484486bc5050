// The one error type of the SecAgg+ engine (client and coordinator): a protocol step refused or a
// round aborted. `reason` says which rule; the message says what was received.
import { withCode } from '../../../errors.js';
import { oneOf, stringValue } from '../../../validate.js';

export type SecAggErrorReason =
  /** A message arrived in the wrong stage (or twice). */
  | 'stage'
  /** A message was malformed (wrong round, sender, fields). */
  | 'message'
  /** AES-GCM refused a share ciphertext: tampered, or not for this round, sender and receiver. */
  | 'decryption'
  /** An unmask request listed a client both as survivor and as dropped. */
  | 'bothLists'
  /** An unmask request listed a client that is not a neighbour whose shares this client holds. */
  | 'notNeighbour'
  /** An unmask request listed fewer surviving neighbours than the threshold. */
  | 'belowThreshold'
  /** A second, different unmask request in one round. */
  | 'secondRequest'
  /** The coordinator could not gather t shares of a secret it needs: no sum is released. */
  | 'tooFewShares'
  /** A reconstructed key does not match the public key its owner advertised. */
  | 'badShares'
  /** A key agreement gave an all-zero secret (a low-order public key). */
  | 'badKey';

const REASONS: readonly SecAggErrorReason[] = [
  'stage',
  'message',
  'decryption',
  'bothLists',
  'notNeighbour',
  'belowThreshold',
  'secondRequest',
  'tooFewShares',
  'badShares',
  'badKey',
];

export class SecAggError extends Error {
  declare readonly code: 'ERR_DPFL_SECAGG';
  constructor(
    readonly reason: SecAggErrorReason,
    message: string,
  ) {
    // Checked before super(): the message formats both.
    super(`secure aggregation (${oneOf('reason', reason, REASONS)}): ${stringValue('message', message)}`);
    this.name = 'SecAggError';
    withCode(this, 'ERR_DPFL_SECAGG');
  }
}
