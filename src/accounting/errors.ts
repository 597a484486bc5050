// The accounting library's own errors (an unsupported event, a bound it cannot prove); its argument
// checks are the generic ones of src/validate.ts, and every error comes from src/errors.ts.

import { invalidArgument, invalidType, withCode } from '../errors.js';

export { invalidArgument, invalidType };

export function unsupportedEvent(accountant: string, kind: string, hint: string): TypeError {
  return withCode(
    new TypeError(`event must be supported by the ${accountant} accountant, received "${kind}" (${hint})`),
    'ERR_DPFL_UNSUPPORTED_EVENT',
  );
}

/**
 * An accountant could not compute ε to a proven bound within its resource limits (grid too wide for
 * the point budget, round-off above δ, …). computeEpsilon catches it and falls back to another bound.
 */
type PrecisionError = RangeError & { code: 'ERR_DPFL_ACCOUNTING_PRECISION' };

export function accountingPrecision(accountant: string, reason: string): PrecisionError {
  const e = new RangeError(`the ${accountant} accountant cannot bound ε here: ${reason}`);
  return withCode(e, 'ERR_DPFL_ACCOUNTING_PRECISION') as PrecisionError;
}

export function isAccountingPrecision(e: unknown): e is PrecisionError {
  return e instanceof Error && (e as { code?: unknown }).code === 'ERR_DPFL_ACCOUNTING_PRECISION';
}
