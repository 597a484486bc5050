// The stateful accountant used by the DP-SGD and FL loops: a ledger of (event, count), ε(δ) by RDP
// or PLD, a budget guard, and an exact JSON checkpoint.

import {
  accountingPrecision,
  checkDelta,
  checkInteger,
  checkPositive,
  invalidArgument,
  invalidType,
  isAccountingPrecision,
} from './errors.js';
import { validateEvent, type DpEvent } from './events.js';
import { DEFAULT_PLD_DISCRETIZATION, checkPldSupports, pldEpsilon, type PldEpsilon } from './pld-accountant.js';
import { rdpEpsilon } from './rdp-accountant.js';
import { DEFAULT_RDP_ORDERS } from './rdp.js';

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
  /** Records `count` (default 1) applications of `event`. With a budget, refuses a step that would exceed it. */
  step(event: DpEvent, count?: number): void;
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

function sameEvent(a: DpEvent, b: DpEvent): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function checkOrders(orders: unknown): readonly number[] {
  if (!Array.isArray(orders) || orders.length === 0) throw invalidType('orders', 'a non-empty array of numbers > 1', orders);
  orders.forEach((a, i) => {
    if (typeof a !== 'number' || !(a > 1) || Number.isNaN(a)) throw invalidArgument(`orders[${i}]`, 'a number > 1', a);
  });
  return [...(orders as number[])];
}

/**
 * ε of a ledger by the chosen accountant. Never below the truth, never NaN: the PLD accountant
 * answers compositions of Gaussians in closed form, and reports the RDP bound (flagged in
 * `fallback`) when the PLD cannot bound ε within its grid budget or gives a larger bound.
 */
export function computeEpsilon(
  history: readonly HistoryEntry[],
  delta: number,
  options: {
    accountant?: AccountantKind;
    orders?: readonly number[];
    discretization?: number;
    lowerBound?: boolean;
    /** PLD: most points of the composed grid (default 2^20). */
    gridBudget?: number;
  } = {},
): EpsilonReport {
  checkDelta('delta', delta);
  const kind = options.accountant ?? 'rdp';
  const orders = options.orders ?? DEFAULT_RDP_ORDERS;
  if (kind === 'rdp') {
    const r = rdpEpsilon(history, delta, { orders });
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
    pld = pldEpsilon(history, delta, {
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
      epsilon: upper, delta, accountant: 'pld', method: 'closed-form',
      epsilonLower: lower, epsilonUpper: upper,
    };
  }
  // RDP is a second proven upper bound: the smaller of the two is reported.
  const rdp = rdpEpsilon(history, delta, { orders });
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

export class Accountant implements PrivacyAccountant {
  readonly accountant: AccountantKind;
  readonly budget: PrivacyBudget | undefined;
  private readonly orders: readonly number[] | undefined;
  private readonly discretization: number | undefined;
  private readonly entries: HistoryEntry[] = [];
  private spent = 0; // ε at budget.delta of the current history (only maintained with a budget)

  constructor(options: AccountantOptions = {}) {
    const kind = options.accountant ?? 'rdp';
    if (kind !== 'rdp' && kind !== 'pld') throw invalidArgument('accountant', '"rdp" or "pld"', kind);
    this.accountant = kind;
    this.orders = options.orders === undefined ? undefined : checkOrders(options.orders);
    this.discretization = options.discretization === undefined ? undefined : checkPositive('discretization', options.discretization);
    if (this.discretization !== undefined && this.discretization > 0.1) throw invalidArgument('discretization', 'at most 0.1', this.discretization);
    if (options.budget !== undefined) {
      const b = options.budget;
      if (typeof b !== 'object' || b === null) throw invalidType('budget', 'an object { epsilon, delta }', b);
      this.budget = Object.freeze({ epsilon: checkPositive('budget.epsilon', b.epsilon), delta: checkDelta('budget.delta', b.delta) });
    }
  }

  get history(): readonly HistoryEntry[] {
    return this.entries;
  }

  private compute(history: readonly HistoryEntry[], delta: number, lowerBound = true): EpsilonReport {
    return computeEpsilon(history, delta, {
      accountant: this.accountant,
      ...(this.orders ? { orders: this.orders } : {}),
      ...(this.discretization !== undefined ? { discretization: this.discretization } : {}),
      lowerBound,
    });
  }

  step(event: DpEvent, count = 1): void {
    const e = validateEvent(event, 'event');
    const c = checkInteger('count', count, 0);
    if (this.accountant === 'pld') checkPldSupports(e);
    if (c === 0) return;
    // The next history, built aside: nothing is applied until the guard has passed.
    const last = this.entries[this.entries.length - 1];
    const next: HistoryEntry[] =
      last && sameEvent(last.event, e)
        ? [...this.entries.slice(0, -1), { event: last.event, count: last.count + c }]
        : [...this.entries, { event: e, count: c }];
    if (this.budget) {
      const attempted = this.compute(next, this.budget.delta, false).epsilon;
      if (!(attempted <= this.budget.epsilon)) throw new BudgetExceededError(this.spent, attempted, this.budget, this.accountant);
      this.spent = attempted;
    }
    this.entries.length = 0;
    this.entries.push(...next);
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
    if (s.format !== 'dpfl-privacy-accountant') throw invalidArgument('state.format', '"dpfl-privacy-accountant"', s.format);
    if (s.version !== 1) throw invalidArgument('state.version', '1', s.version);
    if (!Array.isArray(s.history)) throw invalidType('state.history', 'an array', s.history);
    const acc = new Accountant({
      ...(s.accountant !== undefined ? { accountant: s.accountant } : {}),
      ...(s.orders !== undefined ? { orders: s.orders } : {}),
      ...(s.discretization !== undefined ? { discretization: s.discretization } : {}),
      ...(s.budget !== undefined ? { budget: s.budget } : {}),
    });
    s.history.forEach((h, i) => {
      if (typeof h !== 'object' || h === null) throw invalidType(`state.history[${i}]`, 'an object { event, count }', h);
      const event = validateEvent(h.event, `state.history[${i}].event`);
      const count = checkInteger(`state.history[${i}].count`, h.count, 1);
      if (acc.accountant === 'pld') checkPldSupports(event);
      acc.entries.push({ event, count });
    });
    if (acc.budget && acc.entries.length > 0) acc.spent = acc.compute(acc.entries, acc.budget.delta, false).epsilon;
    return acc;
  }
}

export function createAccountant(options: AccountantOptions = {}): PrivacyAccountant {
  return new Accountant(options);
}
