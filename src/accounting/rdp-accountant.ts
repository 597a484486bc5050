// RDP accounting of a ledger of events: the RDP curve is additive under composition (Mironov 2017,
// Prop. 1), so ε(δ) is min over orders of the conversion of Σ count·ε_event(α). The minimum over the
// order grid is refined by a golden-section search over fractional orders.

import { nonNegativeNumber, openUnitInterval, optionalBoolean, optionsObject } from '../validate.js';
import { checkEntries, flattenEvent, validateEvent, type BaseEvent, type DpEvent } from './events.js';
import { bestEpsilon, checkOrders, DEFAULT_RDP_ORDERS, orderEpsilon, rdpOfEvent } from './rdp.js';

export interface RdpOptions {
  /** Orders α > 1 to evaluate (default DEFAULT_RDP_ORDERS). */
  orders?: readonly number[];
  /** Refine the best grid order by a golden-section search over fractional orders (default true). */
  refine?: boolean;
}

export interface RdpEpsilon {
  epsilon: number;
  /** The order that gave ε (fractional after refinement). */
  order: number;
}

type Flat = Array<{ event: BaseEvent; count: number; key: string }>;

function flatten(entries: ReadonlyArray<{ event: DpEvent; count: number }>): Flat {
  const map = new Map<string, { event: BaseEvent; count: number }>();
  for (const { event, count } of entries) flattenEvent(event, count, map);
  return [...map].map(([key, v]) => ({ key, ...v }));
}

const curveCache = new Map<string, Float64Array>();

/** RDP of one base event at each order, cached per (event, order set). */
function eventCurve(key: string, event: BaseEvent, orders: readonly number[]): Float64Array {
  const k = `${key}|${orders.length}:${orders[0]}:${orders[orders.length - 1]}:${orders === DEFAULT_RDP_ORDERS ? 'd' : orders.join(',')}`;
  let c = curveCache.get(k);
  if (!c) {
    c = Float64Array.from(orders, (a) => rdpOfEvent(event, a));
    if (curveCache.size > 256) curveCache.clear();
    curveCache.set(k, c);
  }
  return c;
}

/** Σ count·ε_event(α) at each order. */
export function rdpCurve(
  entries: ReadonlyArray<{ event: DpEvent; count: number }>,
  orders: readonly number[] = DEFAULT_RDP_ORDERS,
): Float64Array {
  const checked = orders === DEFAULT_RDP_ORDERS ? orders : checkOrders('orders', orders);
  return ledgerCurve(checkEntries('entries', entries, 0), checked);
}

/** The caller's options, checked: orders and refine. */
function checkRdpOptions(options: unknown): RdpOptions {
  const o = optionsObject('options', options as RdpOptions | undefined);
  const out: RdpOptions = {};
  if (o.orders !== undefined) out.orders = checkOrders('options.orders', o.orders);
  if (o.refine !== undefined) out.refine = optionalBoolean('options.refine', o.refine, true);
  return out;
}

function ledgerCurve(
  entries: ReadonlyArray<{ event: DpEvent; count: number }>,
  orders: readonly number[],
): Float64Array {
  const total = new Float64Array(orders.length);
  for (const { key, event, count } of flatten(entries)) {
    const c = eventCurve(key, event, orders);
    for (let i = 0; i < orders.length; i++) total[i] = (total[i] as number) + count * (c[i] as number);
  }
  return total;
}

function rdpAt(flat: Flat, alpha: number): number {
  let s = 0;
  for (const { event, count } of flat) s += count * rdpOfEvent(event, alpha);
  return s;
}

/** ε(δ) of a ledger by RDP, with the order that achieves it. */
export function rdpEpsilon(
  entries: ReadonlyArray<{ event: DpEvent; count: number }>,
  delta: number,
  options: RdpOptions = {},
): RdpEpsilon {
  const d = openUnitInterval('delta', delta);
  return ledgerRdpEpsilon(checkEntries('entries', entries, 0), d, checkRdpOptions(options));
}

/** rdpEpsilon of a validated ledger (the accountants' path). */
export function ledgerRdpEpsilon(
  entries: ReadonlyArray<{ event: DpEvent; count: number }>,
  delta: number,
  options: RdpOptions = {},
): RdpEpsilon {
  const orders = options.orders ?? DEFAULT_RDP_ORDERS;
  const flat = flatten(entries);
  if (flat.length === 0) return { epsilon: 0, order: orders[0] ?? 2 };
  const curve = ledgerCurve(entries, orders);
  const best = bestEpsilon(orders, curve, delta);
  if (options.refine === false || !(best.epsilon > 0) || !Number.isFinite(best.epsilon)) return best;
  // Golden-section search on the bracket of neighbouring grid orders.
  const i = orders.indexOf(best.order);
  const lo0 = i > 0 ? (orders[i - 1] as number) : Math.max(1.011, best.order * 0.9);
  const hi0 = i < orders.length - 1 ? (orders[i + 1] as number) : best.order * 1.5;
  const f = (a: number) => orderEpsilon(a, rdpAt(flat, a), delta);
  const g = (Math.sqrt(5) - 1) / 2;
  let a = lo0;
  let b = hi0;
  let c = b - g * (b - a);
  let d = a + g * (b - a);
  let fc = f(c);
  let fd = f(d);
  let result = best;
  for (let k = 0; k < 40 && b - a > 1e-6 * b; k++) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - g * (b - a);
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + g * (b - a);
      fd = f(d);
    }
    if (fc < result.epsilon) result = { epsilon: fc, order: c };
    if (fd < result.epsilon) result = { epsilon: fd, order: d };
  }
  return result;
}

/**
 * The largest T with ε(T·event) ≤ target at δ, exactly: for each order, ε is affine in T.
 */
export function rdpMaxSteps(event: DpEvent, epsilon: number, delta: number, options: RdpOptions = {}): number {
  const e = validateEvent(event, 'event');
  nonNegativeNumber('epsilon', epsilon);
  return ledgerMaxSteps(e, epsilon, openUnitInterval('delta', delta), checkRdpOptions(options));
}

/** rdpMaxSteps of a validated event (calibration's path). */
export function ledgerMaxSteps(event: DpEvent, epsilon: number, delta: number, options: RdpOptions = {}): number {
  const orders = options.orders ?? DEFAULT_RDP_ORDERS;
  const one = ledgerCurve([{ event, count: 1 }], orders);
  let best = 0;
  for (let i = 0; i < orders.length; i++) {
    const a = orders[i] as number;
    const r = one[i] as number;
    if (!(r > 0) || !(a > 1.01)) continue;
    const c = Math.log1p(-1 / a) - (Math.log(delta) + Math.log(a)) / (a - 1);
    let t = Math.floor((epsilon - c) / r);
    // Guard the floor against rounding: step down until the order's bound holds.
    while (t > 0 && orderEpsilon(a, t * r, delta) > epsilon) t--;
    if (t > best) best = t;
  }
  return best;
}
