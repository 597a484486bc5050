// Option values of the sub-commands (strings from parseArgs) read into checked numbers, choices and lists,
// with one error shape: "--flag must be <expectation>, received <value>", code ERR_DPFL_INVALID_ARGUMENT.
//
// The commands speak two dialects, kept as they were because scripts and tests match their messages:
// 'prose' (train, audit, bench) writes expectations in words and quotes the value received
// (`--epsilon must be a positive number, received "0"`); 'math' (epsilon, calibrate, federate) writes
// them as relations and prints the value bare (`--noise must be a number > 0, received 0`).
import { withCode, type DpflErrorCode } from '../errors.js';

export type OptionDialect = 'prose' | 'math';

type OptionError = RangeError & { code: DpflErrorCode };

function optionError(message: string): OptionError {
  return withCode(new RangeError(message), 'ERR_DPFL_INVALID_ARGUMENT');
}

/** The error for a flag whose value is refused. */
export function invalidOption(flag: string, expected: string, received: unknown, dialect: OptionDialect): OptionError {
  const shown = dialect === 'prose' && typeof received === 'string' ? JSON.stringify(received) : String(received);
  return optionError(`--${flag} must be ${expected}, received ${shown}`);
}

/** A numeric option: `fallback` when absent (required when there is none), else a finite number. */
export function numberOption(flag: string, raw: string | undefined, fallback?: number): number {
  if (raw === undefined) {
    if (fallback === undefined) throw optionError(`--${flag} is required`);
    return fallback;
  }
  const n = Number(raw);
  if (!Number.isFinite(n)) throw invalidOption(flag, 'a finite number', raw, 'prose');
  return n;
}

/** The option readers of one dialect; a fallback of undefined makes the option required. */
export interface OptionParser {
  /** Refuses a flag with an expectation of the caller's own (a combination of flags, a list of names). */
  fail(flag: string, expected: string, received: unknown): never;
  /** A number that passes `ok`, refused as `expected`. */
  where(
    flag: string,
    raw: string | undefined,
    fallback: number | undefined,
    ok: (v: number) => boolean,
    expected: string,
  ): number;
  /** A number > 0. */
  positive(flag: string, raw: string | undefined, fallback?: number): number;
  /** A safe integer >= min. */
  integer(flag: string, raw: string | undefined, fallback: number | undefined, min: number): number;
  /** A number in (0, 1): δ, a confidence level. */
  openUnit(flag: string, raw: string | undefined, fallback?: number): number;
  /** One of `allowed` (absent: fallback). */
  choice<T extends string>(flag: string, raw: string | undefined, allowed: readonly T[], fallback: T): T;
  /** A comma-separated list of safe integers >= min, none empty, refused as `expected`. */
  integerList(flag: string, raw: string, min: number, expected: string): number[];
}

const isSafeIntegerFrom = (min: number) => (v: number) => Number.isSafeInteger(v) && v >= min;

export function optionParser(dialect: OptionDialect): OptionParser {
  const prose = dialect === 'prose';
  const fail = (flag: string, expected: string, received: unknown): never => {
    throw invalidOption(flag, expected, received, dialect);
  };
  const where: OptionParser['where'] = (flag, raw, fallback, ok, expected) => {
    const v = numberOption(flag, raw, fallback);
    if (!ok(v)) fail(flag, expected, raw);
    return v;
  };
  const integerWords = (min: number) =>
    prose && min === 0 ? 'a non-negative integer' : prose && min === 1 ? 'a positive integer' : `an integer >= ${min}`;
  return {
    fail,
    where,
    positive: (flag, raw, fallback) =>
      where(flag, raw, fallback, (v) => v > 0, prose ? 'a positive number' : 'a number > 0'),
    integer: (flag, raw, fallback, min) => where(flag, raw, fallback, isSafeIntegerFrom(min), integerWords(min)),
    openUnit: (flag, raw, fallback) => where(flag, raw, fallback, (v) => v > 0 && v < 1, 'in (0, 1)'),
    choice<T extends string>(flag: string, raw: string | undefined, allowed: readonly T[], fallback: T): T {
      if (raw === undefined) return fallback;
      if (!(allowed as readonly string[]).includes(raw)) {
        fail(flag, prose ? `one of ${allowed.join(', ')}` : allowed.map((a) => `"${a}"`).join(' | '), raw);
      }
      return raw as T;
    },
    integerList(flag, raw, min, expected) {
      const parts = raw.split(',').map((s) => s.trim());
      const values = parts.map(Number);
      if (parts.some((p, i) => p === '' || !isSafeIntegerFrom(min)(values[i]!))) fail(flag, expected, raw);
      return values;
    },
  };
}
