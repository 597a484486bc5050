// Argument checks of the accounting library; errors come from src/errors.ts like the rest of dpfl.

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

// Validators shared by events, accountants, calibration and the CLI.

export function checkNumber(name: string, value: unknown): number {
  if (typeof value !== 'number') throw invalidType(name, 'a number', value);
  return value;
}

/** δ ∈ (0, 1). */
export function checkDelta(name: string, value: unknown): number {
  const v = checkNumber(name, value);
  if (!(v > 0 && v < 1)) throw invalidArgument(name, 'in (0, 1)', v);
  return v;
}

/** q ∈ (0, 1]. */
export function checkSampleRate(name: string, value: unknown): number {
  const v = checkNumber(name, value);
  if (!(v > 0 && v <= 1)) throw invalidArgument(name, 'in (0, 1]', v);
  return v;
}

/** A finite number > 0. */
export function checkPositive(name: string, value: unknown): number {
  const v = checkNumber(name, value);
  if (!(v > 0 && Number.isFinite(v))) throw invalidArgument(name, 'a finite number > 0', v);
  return v;
}

/** A safe integer ≥ min. */
export function checkInteger(name: string, value: unknown, min: number): number {
  const v = checkNumber(name, value);
  if (!Number.isSafeInteger(v) || v < min) throw invalidArgument(name, `an integer >= ${min}`, v);
  return v;
}
