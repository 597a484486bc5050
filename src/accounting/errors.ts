// Errors of the accounting library. Same shape and codes as the rest of dpfl:
// "<argument> must be <expectation>, received <actual>", with a stable `code`.

export type AccountingErrorCode = 'ERR_DPFL_INVALID_ARGUMENT' | 'ERR_DPFL_INVALID_TYPE' | 'ERR_DPFL_UNSUPPORTED_EVENT';

function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Array.isArray(value)) return `Array(${value.length})`;
  return typeof value === 'object' ? ((value as object).constructor?.name ?? 'object') : typeof value;
}

export function invalidArgument(name: string, expected: string, received: unknown): RangeError & { code: AccountingErrorCode } {
  return Object.assign(new RangeError(`${name} must be ${expected}, received ${describe(received)}`), {
    code: 'ERR_DPFL_INVALID_ARGUMENT' as const,
  });
}

export function invalidType(name: string, expected: string, received: unknown): TypeError & { code: AccountingErrorCode } {
  return Object.assign(new TypeError(`${name} must be ${expected}, received ${describe(received)}`), {
    code: 'ERR_DPFL_INVALID_TYPE' as const,
  });
}

export function unsupportedEvent(accountant: string, kind: string, hint: string): TypeError & { code: AccountingErrorCode } {
  return Object.assign(new TypeError(`event must be supported by the ${accountant} accountant, received "${kind}" (${hint})`), {
    code: 'ERR_DPFL_UNSUPPORTED_EVENT' as const,
  });
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
