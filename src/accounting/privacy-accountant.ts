// The stateful accountant used by the DP-SGD and FL loops: a ledger of (event, count), ε(δ) by RDP
// or PLD, a budget guard, and an exact JSON checkpoint.

import { accountingPrecision, invalidArgument, invalidType, isAccountingPrecision } from './errors.js';
import { checkEntries, validateEvent, type DpEvent } from './events.js';
import { DEFAULT_PLD_DISCRETIZATION, checkPldSupports, ledgerPldEpsilon, type PldEpsilon } from './pld-accountant.js';
import { ledgerRdpEpsilon } from './rdp-accountant.js';
import { checkOrders, DEFAULT_RDP_ORDERS } from './rdp.js';
import {
  integerAtLeast,
  numberValue,
  openUnitInterval,
  optionalBoolean,
  optionsObject,
  positiveNumber,
  requiredObject,
} from '../validate.js';

export type AccountantKind = 'rdp' | 'pld';

export interface PrivacyBudget {
  readonly epsilon: number;
  readonly delta: number;
}

export interface HistoryEntry {
  readonly event: DpEvent;
  readonly count: number;
}

/**
 * What produced a reported ε: 'closed-form' (compositions of Gaussians, exact up to 1e-12
 * relative), 'pld' (pessimistic PLD estimate), 'rdp' (Rényi DP conversion).
 */
export type EpsilonMethod = 'closed-form' | 'pld' | 'rdp';

export interface EpsilonReport {
  /**
   * The ε to report: a proven upper bound on the true ε (PLD: the pessimistic estimate, or the RDP
   * bound when that is smaller or PLD cannot bound ε; see `method` and `fallback`). Infinity only
   * when no finite bound is known, and then `fallback` says why.
   */
  epsilon: number;
  delta: number;
  /** The accountant asked for. */
  accountant: AccountantKind;
  /** The method that produced `epsilon`. */
  method: EpsilonMethod;
  /** Set when `method` is not the asked accountant's own, or ε is Infinity: the reason. */
  fallback?: string;
  /** RDP: the order achieving ε. */
  optimalOrder?: number;
  /** PLD: the interval that contains the true ε, and the grid used. */
  epsilonLower?: number;
  epsilonUpper?: number;
  discretization?: number;
}

export interface AccountantOptions {
  accountant?: AccountantKind;
  /** RDP orders (default DEFAULT_RDP_ORDERS). */
  orders?: readonly number[];
  /** PLD grid spacing (default 1e-4). */
  discretization?: number;
  /** When set, step() refuses any step after which ε(budget.delta) would exceed budget.epsilon. */
  budget?: PrivacyBudget;
}

/** The serialised state: enough to rebuild an accountant that reports bit-identical ε. */
export interface AccountantState {
  format: 'dpfl-privacy-accountant';
  version: 1;
  accountant: AccountantKind;
  orders?: number[];
  discretization?: number;
  budget?: { epsilon: number; delta: number };
  history: Array<{ event: DpEvent; count: number }>;
}

export interface PrivacyAccountant {
  readonly accountant: AccountantKind;
  readonly history: readonly HistoryEntry[];
  readonly budget: PrivacyBudget | undefined;
  /**
   * Records `count` (default 1) applications of `event`. With a budget, refuses (BudgetExceededError,
   * nothing recorded) a step after which the ledger's ε at budget.delta would exceed budget.epsilon.
   */
  step(event: DpEvent, count?: number): void;
  /** Throws what step(event, count) would throw, recording nothing (refuse work before doing it). */
  checkStep(event: DpEvent, count?: number): void;
  /** Releases recorded: the sum of the ledger's counts (a DP optimizer's step count is derived from it). */
  readonly releases: number;
  /**
   * Replaces the ledger with `history` (a restored checkpoint's), validated first; nothing changes if
   * it is malformed. Not checked against the budget: what was spent was spent; later steps are.
   */
  restore(history: readonly HistoryEntry[]): void;
  /** An upper bound on ε at δ for everything recorded. */
  epsilon(delta: number): number;
  /** ε with the accountant's details (optimal order, PLD interval). */
  report(delta: number): EpsilonReport;
  toJSON(): AccountantState;
}

export class BudgetExceededError extends Error {
  readonly code = 'ERR_DPFL_BUDGET_EXCEEDED' as const;
  /** ε at budget.delta before the refused step (what has been spent). */
  readonly spentEpsilon: number;
  /** ε at budget.delta the refused step would have reached. */
  readonly attemptedEpsilon: number;
  readonly budget: PrivacyBudget;

  constructor(spentEpsilon: number, attemptedEpsilon: number, budget: PrivacyBudget, accountant: AccountantKind) {
    // Checked before super(): the message formats every argument.
    numberValue('spentEpsilon', spentEpsilon);
    numberValue('attemptedEpsilon', attemptedEpsilon);
    requiredObject('budget', budget);
    numberValue('budget.epsilon', budget.epsilon);
    numberValue('budget.delta', budget.delta);
    checkKind(accountant);
    super(
      `privacy budget exceeded: the step would bring ε to ${attemptedEpsilon.toPrecision(6)} at δ = ${budget.delta} ` +
        `(budget ε = ${budget.epsilon}; spent so far ε = ${spentEpsilon.toPrecision(6)}, ${accountant} accountant); the step was not taken`,
    );
    this.name = 'BudgetExceededError';
    this.spentEpsilon = spentEpsilon;
    this.attemptedEpsilon = attemptedEpsilon;
    this.budget = budget;
  }
}

type ComputeOptions = {
  accountant?: AccountantKind;
  orders?: readonly number[];
  discretization?: number;
  lowerBound?: boolean;
  /** PLD: most points of the composed grid (default 2^20). */
  gridBudget?: number;
};

function checkKind(value: unknown): AccountantKind {
  if (value === undefined) return 'rdp';
  if (value !== 'rdp' && value !== 'pld') throw invalidArgument('accountant', '"rdp" or "pld"', value);
  return value;
}

/**
 * ε of a ledger by the chosen accountant. Never below the truth, never NaN: the PLD accountant
 * answers compositions of Gaussians in closed form, and reports the RDP bound (flagged in
 * `fallback`) when the PLD cannot bound ε within its grid budget or gives a larger bound.
 */
export function computeEpsilon(
  history: readonly HistoryEntry[],
  delta: number,
  options: ComputeOptions = {},
): EpsilonReport {
  const o = optionsObject('options', options);
  const entries = checkEntries('history', history, 0);
  const checked: ComputeOptions = { accountant: checkKind(o.accountant) };
  if (o.orders !== undefined) checked.orders = checkOrders('options.orders', o.orders);
  if (o.discretization !== undefined) {
    checked.discretization = positiveNumber('options.discretization', o.discretization);
  }
  if (o.lowerBound !== undefined) checked.lowerBound = optionalBoolean('options.lowerBound', o.lowerBound, true);
  if (o.gridBudget !== undefined) checked.gridBudget = integerAtLeast('options.gridBudget', o.gridBudget, 1);
  return ledgerEpsilon(entries, openUnitInterval('delta', delta), checked);
}

/** computeEpsilon of a validated ledger (the accountant's own path: checked once, at its entry). */
function ledgerEpsilon(history: readonly HistoryEntry[], delta: number, options: ComputeOptions): EpsilonReport {
  const kind = options.accountant ?? 'rdp';
  const orders = options.orders ?? DEFAULT_RDP_ORDERS;
  if (kind === 'rdp') {
    const r = ledgerRdpEpsilon(history, delta, { orders });
    if (Number.isNaN(r.epsilon)) throw accountingPrecision('rdp', 'ε is NaN at every order');
    return {
      epsilon: r.epsilon,
      delta,
      accountant: 'rdp',
      method: 'rdp',
      optimalOrder: r.order,
      ...(r.epsilon === Infinity ? { fallback: 'no finite RDP bound at any order' } : {}),
    };
  }
  let pld: PldEpsilon | undefined;
  let failure: string | undefined;
  try {
    pld = ledgerPldEpsilon(history, delta, {
      discretization: options.discretization ?? DEFAULT_PLD_DISCRETIZATION,
      lowerBound: options.lowerBound ?? true,
      ...(options.gridBudget !== undefined ? { gridBudget: options.gridBudget } : {}),
    });
  } catch (e) {
    if (!isAccountingPrecision(e)) throw e;
    failure = e.message;
  }
  if (pld?.method === 'closed-form') {
    const { lower, upper } = pld;
    return {
      epsilon: upper,
      delta,
      accountant: 'pld',
      method: 'closed-form',
      epsilonLower: lower,
      epsilonUpper: upper,
    };
  }
  // RDP is a second proven upper bound: the smaller of the two is reported.
  const rdp = ledgerRdpEpsilon(history, delta, { orders });
  const rdpOk = rdp.epsilon >= 0;
  if (pld && pld.upper >= 0 && (!rdpOk || pld.upper <= rdp.epsilon)) {
    return {
      epsilon: pld.upper,
      delta,
      accountant: 'pld',
      method: 'pld',
      ...(pld.upper === Infinity ? { fallback: 'neither PLD nor RDP gives a finite bound' } : {}),
      epsilonLower: pld.lower,
      epsilonUpper: pld.upper,
      discretization: pld.discretization,
    };
  }
  if (!rdpOk) throw accountingPrecision('pld', `${failure ?? 'PLD gave no value'}, and RDP gave NaN`);
  const reason =
    failure ??
    (pld && pld.upper === Infinity
      ? `the PLD slack (grid truncation and FFT round-off) exceeds δ = ${delta}`
      : `the RDP bound is below the PLD upper bound ${pld?.upper}`);
  return {
    epsilon: rdp.epsilon,
    delta,
    accountant: 'pld',
    method: 'rdp',
    fallback: rdp.epsilon === Infinity ? `${reason}; no finite RDP bound either` : reason,
    optimalOrder: rdp.order,
    ...(pld ? { epsilonLower: pld.lower, epsilonUpper: rdp.epsilon, discretization: pld.discretization } : {}),
  };
}

/** A validated event, frozen all the way down, so the ledger cannot be edited through `history`. */
function frozenEvent<T extends object>(e: T): T {
  for (const v of Object.values(e)) if (typeof v === 'object' && v !== null) frozenEvent(v as object);
  return Object.freeze(e);
}

/** A ledger given by a caller, validated entry by entry (frozen copies; nothing is kept on failure). */
function validateHistory(history: unknown, name: string, kind: AccountantKind): HistoryEntry[] {
  return checkEntries(name, history, 1).map(({ event, count }) => {
    if (kind === 'pld') checkPldSupports(event);
    return Object.freeze({ event: frozenEvent(event), count });
  });
}

/** Total count per distinct event (keyed by its canonical JSON: validated events have a fixed key order). */
function totalsOf(history: readonly HistoryEntry[]): Map<string, number> {
  const t = new Map<string, number>();
  for (const h of history) {
    const k = JSON.stringify(h.event);
    t.set(k, (t.get(k) ?? 0) + h.count);
  }
  return t;
}

export class Accountant implements PrivacyAccountant {
  readonly accountant: AccountantKind;
  readonly budget: PrivacyBudget | undefined;
  private readonly orders: readonly number[] | undefined;
  private readonly discretization: number | undefined;
  private entries: HistoryEntry[] = [];
  /** The ledger's count per distinct event, and the key of its last entry (kept with `entries`). */
  private totals = new Map<string, number>();
  private lastKey: string | undefined;
  private releaseCount = 0;
  /** Ledgers proven to fit the budget (certify), as counts per event. */
  private readonly proven: Map<string, number>[] = [];

  constructor(options: AccountantOptions = {}) {
    options = optionsObject('options', options);
    this.accountant = checkKind(options.accountant);
    this.orders = options.orders === undefined ? undefined : checkOrders('orders', options.orders);
    this.discretization =
      options.discretization === undefined ? undefined : positiveNumber('discretization', options.discretization);
    if (this.discretization !== undefined && this.discretization > 0.1)
      throw invalidArgument('discretization', 'at most 0.1', this.discretization);
    if (options.budget !== undefined) {
      const b = options.budget;
      if (typeof b !== 'object' || b === null) throw invalidType('budget', 'an object { epsilon, delta }', b);
      this.budget = Object.freeze({
        epsilon: positiveNumber('budget.epsilon', b.epsilon),
        delta: openUnitInterval('budget.delta', b.delta),
      });
    }
    // `readonly` binds only TypeScript: an assignment must not raise the budget or swap the accountant.
    Object.defineProperty(this, 'budget', { writable: false, configurable: false });
    Object.defineProperty(this, 'accountant', { writable: false, configurable: false });
  }

  /** The ledger (a frozen copy: the accountant's own ledger cannot be edited through it). */
  get history(): readonly HistoryEntry[] {
    return Object.freeze([...this.entries]);
  }

  get releases(): number {
    return this.releaseCount;
  }

  private compute(history: readonly HistoryEntry[], delta: number, lowerBound = true): EpsilonReport {
    return ledgerEpsilon(history, openUnitInterval('delta', delta), {
      accountant: this.accountant,
      ...(this.orders ? { orders: this.orders } : {}),
      ...(this.discretization !== undefined ? { discretization: this.discretization } : {}),
      lowerBound,
    });
  }

  /** ε at budget.delta of the current ledger (for the refusal message; computed only then). */
  private spentEpsilon(budget: PrivacyBudget): number {
    return this.entries.length === 0 ? 0 : this.compute(this.entries, budget.delta, false).epsilon;
  }

  /**
   * Whether the ledger after adding `count` of the event `key` is dominated, event by event, by a
   * proven ledger. ε of a composition is monotone in each count and does not depend on the order
   * (an adversary can ignore releases), so a dominated ledger fits whatever the accountant.
   */
  private covered(key: string, count: number): boolean {
    return this.proven.some((p) => {
      if ((p.get(key) ?? 0) < (this.totals.get(key) ?? 0) + count) return false;
      for (const [k, n] of this.totals) if ((p.get(k) ?? 0) < n) return false;
      return true;
    });
  }

  /**
   * The ledger after `count` more of `event`, built aside, or BudgetExceededError when the budget
   * guard refuses it: the one guard behind step and checkStep. Nothing is recorded.
   */
  private guarded(event: DpEvent, count: number): { key: string; c: number; next: HistoryEntry[] | undefined } {
    const e = validateEvent(event, 'event');
    const c = integerAtLeast('count', count, 0);
    if (this.accountant === 'pld') checkPldSupports(e);
    const key = JSON.stringify(e);
    if (c === 0) return { key, c, next: undefined };
    const last = this.entries[this.entries.length - 1];
    const next: HistoryEntry[] =
      last && this.lastKey === key
        ? [...this.entries.slice(0, -1), Object.freeze({ event: last.event, count: last.count + c })]
        : [...this.entries, Object.freeze({ event: frozenEvent(e), count: c })];
    const b = this.budget;
    if (b && !this.covered(key, c)) {
      const attempted = this.compute(next, b.delta, false).epsilon;
      if (!(attempted <= b.epsilon)) throw new BudgetExceededError(this.spentEpsilon(b), attempted, b, this.accountant);
    }
    return { key, c, next };
  }

  /**
   * Throws exactly what step(event, count) would throw (BudgetExceededError past the budget, a
   * typed error for a bad event) and records nothing: for callers that must refuse work before
   * doing it (a federated round before its clients train).
   */
  checkStep(event: DpEvent, count = 1): void {
    this.guarded(event, count);
  }

  step(event: DpEvent, count = 1): void {
    const { key, c, next } = this.guarded(event, count);
    if (next === undefined) return;
    this.entries = next;
    this.totals.set(key, (this.totals.get(key) ?? 0) + c);
    this.lastKey = key;
    this.releaseCount += c;
  }

  /**
   * Proves once that the ledger `plan` fits the budget (one exact ε computation, returned) and
   * remembers it: every later step whose ledger the plan dominates event by event (the same events,
   * counts no larger) is then accepted without recomputing ε; any other step is checked exactly.
   * makePrivate certifies [(the step's event, the calibrated steps)], so a calibrated run pays for
   * its guard once. Throws BudgetExceededError (nothing remembered) when the plan does not fit.
   */
  certify(plan: readonly HistoryEntry[]): number {
    const b = this.budget;
    if (b === undefined) {
      throw invalidArgument('budget', 'set on the accountant to certify a ledger against it', undefined);
    }
    const history = validateHistory(plan, 'plan', this.accountant);
    if (history.length === 0) return 0;
    const eps = this.compute(history, b.delta, false).epsilon;
    if (!(eps <= b.epsilon)) throw new BudgetExceededError(this.spentEpsilon(b), eps, b, this.accountant);
    this.proven.push(totalsOf(history));
    return eps;
  }

  restore(history: readonly HistoryEntry[]): void {
    const entries = validateHistory(history, 'history', this.accountant);
    this.entries = entries;
    this.totals = totalsOf(entries);
    const last = entries[entries.length - 1];
    this.lastKey = last === undefined ? undefined : JSON.stringify(last.event);
    this.releaseCount = entries.reduce((n, h) => n + h.count, 0);
  }

  epsilon(delta: number): number {
    return this.compute(this.entries, delta, false).epsilon;
  }

  report(delta: number): EpsilonReport {
    return this.compute(this.entries, delta, true);
  }

  toJSON(): AccountantState {
    const state: AccountantState = {
      format: 'dpfl-privacy-accountant',
      version: 1,
      accountant: this.accountant,
      history: this.entries.map((h) => ({ event: h.event, count: h.count })),
    };
    if (this.orders) state.orders = [...this.orders];
    if (this.discretization !== undefined) state.discretization = this.discretization;
    if (this.budget) state.budget = { epsilon: this.budget.epsilon, delta: this.budget.delta };
    return state;
  }

  /** Rebuilds an accountant from toJSON() output (or its JSON.parse). The budget is not re-checked against the history. */
  static fromJSON(state: unknown): Accountant {
    if (typeof state !== 'object' || state === null) throw invalidType('state', 'an accountant state object', state);
    const s = state as Partial<AccountantState>;
    if (s.format !== 'dpfl-privacy-accountant')
      throw invalidArgument('state.format', '"dpfl-privacy-accountant"', s.format);
    if (s.version !== 1) throw invalidArgument('state.version', '1', s.version);
    if (!Array.isArray(s.history)) throw invalidType('state.history', 'an array', s.history);
    const acc = new Accountant({
      ...(s.accountant !== undefined ? { accountant: s.accountant } : {}),
      ...(s.orders !== undefined ? { orders: s.orders } : {}),
      ...(s.discretization !== undefined ? { discretization: s.discretization } : {}),
      ...(s.budget !== undefined ? { budget: s.budget } : {}),
    });
    acc.restore(validateHistory(s.history, 'state.history', acc.accountant));
    return acc;
  }
}
