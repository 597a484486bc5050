// One place that builds every argument error of dpfl (all layers), so messages have one shape:
// "<argument> must be <expectation>, received <actual>", with a stable `code`.

/** Every error code dpfl throws: each error it raises carries one of these as `code`. */
export const ERROR_CODES = [
  'ERR_DPFL_INVALID_TYPE',
  'ERR_DPFL_INVALID_ARGUMENT',
  'ERR_DPFL_NON_FINITE',
  'ERR_DPFL_ENTROPY_UNAVAILABLE',
  'ERR_DPFL_UNSUPPORTED_EVENT',
  'ERR_DPFL_BUDGET_EXCEEDED',
  'ERR_DPFL_ACCOUNTING_PRECISION',
  'ERR_DPFL_OUT_OF_MEMORY',
  'ERR_DPFL_MISSING_PACKAGE',
  'ERR_DPFL_CUDA_UNAVAILABLE',
  'ERR_DPFL_CUDA',
  'ERR_DPFL_DETACHED',
  'ERR_DPFL_BAD_CHECKPOINT',
  'ERR_DPFL_PRIVACY_VIOLATED',
  'ERR_DPFL_ADDON_UNAVAILABLE',
  // dpfl/fl/client: the coordinator stayed unreachable (or kept failing) through every retry; and the
  // coordinator answered something this client cannot follow (protocol version, a refusal, a feature).
  'ERR_DPFL_NETWORK',
  'ERR_DPFL_PROTOCOL',
  // SecAgg+: a protocol step refused or failed (a client's refusal, too few survivors, a bad share).
  'ERR_DPFL_SECAGG',
] as const;

export type DpflErrorCode = (typeof ERROR_CODES)[number];

/** True when `error` is an Error raised by dpfl (optionally: with this code). */
export function isDpflError(error: unknown, code?: DpflErrorCode): error is Error & { code: DpflErrorCode } {
  if (!(error instanceof Error)) return false;
  const c = (error as { code?: unknown }).code;
  return (ERROR_CODES as readonly unknown[]).includes(c) && (code === undefined || c === code);
}

/** Describes a value for an error message without dumping its contents. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (ArrayBuffer.isView(value)) {
    const length = (value as unknown as { length?: number }).length ?? value.byteLength;
    return `${value.constructor.name}(${length})`;
  }
  if (Array.isArray(value)) return `Array(${value.length})`;
  if (typeof value === 'function') return 'a function';
  return (value as object).constructor?.name ?? typeof value;
}

export function withCode<E extends Error>(error: E, code: DpflErrorCode): E & { code: DpflErrorCode } {
  return Object.assign(error, { code });
}

export function invalidType(name: string, expected: string, value: unknown): TypeError & { code: DpflErrorCode } {
  return withCode(new TypeError(`${name} must be ${expected}, received ${describe(value)}`), 'ERR_DPFL_INVALID_TYPE');
}

export function invalidArgument(
  name: string,
  expected: string,
  received: unknown,
  code: DpflErrorCode = 'ERR_DPFL_INVALID_ARGUMENT',
): RangeError & { code: DpflErrorCode } {
  return withCode(new RangeError(`${name} must be ${expected}, received ${describe(received)}`), code);
}
