// Mechanism events: plain, JSON-serialisable descriptions of what a training step (or an FL round)
// released. Every accountant consumes the same events (the design of Google's dp_accounting).
//
// Noise multipliers are always relative to the L2 sensitivity under the event's neighbouring
// relation (noise standard deviation = noiseMultiplier × sensitivity):
// - gaussian, poisson-sampled-gaussian, laplace: add/remove-one neighbours (one record present or
//   absent). For DP-SGD with clipping norm C and noise std σC, the sensitivity is C, so pass σ.
// - sampled-without-replacement-gaussian (fixed batch of `sampleSize` out of `datasetSize`):
//   replace-one neighbours (the dataset size is public; one record is swapped for another). The
//   clipped-sum sensitivity under replace-one is 2C, so a DP-SGD loop with noise std σC must pass
//   noiseMultiplier = σ / 2. (Wang, Balle and Kasiviswanathan 2019, "Subsampled Rényi DP".)

import { halfOpenUnitInterval, integerAtLeast, positiveNumber, requiredObject } from '../validate.js';
import { invalidArgument, invalidType } from './errors.js';

export interface GaussianEvent {
  readonly kind: 'gaussian';
  readonly noiseMultiplier: number;
}
export interface PoissonSampledGaussianEvent {
  readonly kind: 'poisson-sampled-gaussian';
  readonly noiseMultiplier: number;
  readonly sampleRate: number;
}
export interface SampledWithoutReplacementGaussianEvent {
  readonly kind: 'sampled-without-replacement-gaussian';
  readonly noiseMultiplier: number;
  readonly sampleSize: number;
  readonly datasetSize: number;
}
export interface LaplaceEvent {
  readonly kind: 'laplace';
  /** Laplace scale b divided by the L1 sensitivity (pure ε = 1/noiseMultiplier). */
  readonly noiseMultiplier: number;
}
export interface ComposedEvent {
  readonly kind: 'composed';
  readonly events: readonly DpEvent[];
}
export interface SelfComposedEvent {
  readonly kind: 'self-composed';
  readonly event: DpEvent;
  readonly count: number;
}

export type DpEvent =
  | GaussianEvent
  | PoissonSampledGaussianEvent
  | SampledWithoutReplacementGaussianEvent
  | LaplaceEvent
  | ComposedEvent
  | SelfComposedEvent;

/** The events that are not compositions. */
export type BaseEvent =
  | GaussianEvent
  | PoissonSampledGaussianEvent
  | SampledWithoutReplacementGaussianEvent
  | LaplaceEvent;

export function gaussian(options: { noiseMultiplier: number }): GaussianEvent {
  requiredObject('options', options);
  return { kind: 'gaussian', noiseMultiplier: positiveNumber('noiseMultiplier', options.noiseMultiplier) };
}

/** Each record is included independently with probability sampleRate (add/remove-one neighbours). */
export function poissonSampledGaussian(options: {
  noiseMultiplier: number;
  sampleRate: number;
}): PoissonSampledGaussianEvent {
  requiredObject('options', options);
  return {
    kind: 'poisson-sampled-gaussian',
    noiseMultiplier: positiveNumber('noiseMultiplier', options.noiseMultiplier),
    sampleRate: halfOpenUnitInterval('sampleRate', options.sampleRate),
  };
}

/** A uniformly random batch of exactly sampleSize records out of datasetSize (replace-one neighbours). */
export function sampledWithoutReplacementGaussian(options: {
  noiseMultiplier: number;
  sampleSize: number;
  datasetSize: number;
}): SampledWithoutReplacementGaussianEvent {
  requiredObject('options', options);
  const datasetSize = integerAtLeast('datasetSize', options.datasetSize, 1);
  const sampleSize = integerAtLeast('sampleSize', options.sampleSize, 1);
  if (sampleSize > datasetSize) throw invalidArgument('sampleSize', `at most datasetSize (${datasetSize})`, sampleSize);
  return {
    kind: 'sampled-without-replacement-gaussian',
    noiseMultiplier: positiveNumber('noiseMultiplier', options.noiseMultiplier),
    sampleSize,
    datasetSize,
  };
}

export function laplace(options: { noiseMultiplier: number }): LaplaceEvent {
  requiredObject('options', options);
  return { kind: 'laplace', noiseMultiplier: positiveNumber('noiseMultiplier', options.noiseMultiplier) };
}

/** A heterogeneous sequence of events (noise schedules, varying client counts). */
export function composed(events: readonly DpEvent[]): ComposedEvent {
  if (!Array.isArray(events)) throw invalidType('events', 'an array of events', events);
  return { kind: 'composed', events: events.map((e, i) => validateEvent(e, `events[${i}]`)) };
}

export function selfComposed(event: DpEvent, count: number): SelfComposedEvent {
  return { kind: 'self-composed', event: validateEvent(event, 'event'), count: integerAtLeast('count', count, 0) };
}

/** Checks a (possibly deserialised) event and returns a fresh, frozen-shape copy. */
export function validateEvent(event: unknown, name: string = 'event'): DpEvent {
  if (typeof name !== 'string') throw invalidType('name', 'a string', name);
  if (typeof event !== 'object' || event === null) throw invalidType(name, 'a DP event object', event);
  const e = event as Record<string, unknown>;
  const at = (field: string) => `${name}.${field}`;
  switch (e.kind) {
    case 'gaussian':
      return { kind: 'gaussian', noiseMultiplier: positiveNumber(at('noiseMultiplier'), e.noiseMultiplier) };
    case 'laplace':
      return { kind: 'laplace', noiseMultiplier: positiveNumber(at('noiseMultiplier'), e.noiseMultiplier) };
    case 'poisson-sampled-gaussian':
      return {
        kind: 'poisson-sampled-gaussian',
        noiseMultiplier: positiveNumber(at('noiseMultiplier'), e.noiseMultiplier),
        sampleRate: halfOpenUnitInterval(at('sampleRate'), e.sampleRate),
      };
    case 'sampled-without-replacement-gaussian': {
      const datasetSize = integerAtLeast(at('datasetSize'), e.datasetSize, 1);
      const sampleSize = integerAtLeast(at('sampleSize'), e.sampleSize, 1);
      if (sampleSize > datasetSize)
        throw invalidArgument(at('sampleSize'), `at most datasetSize (${datasetSize})`, sampleSize);
      return {
        kind: 'sampled-without-replacement-gaussian',
        noiseMultiplier: positiveNumber(at('noiseMultiplier'), e.noiseMultiplier),
        sampleSize,
        datasetSize,
      };
    }
    case 'composed':
      if (!Array.isArray(e.events)) throw invalidType(at('events'), 'an array of events', e.events);
      return { kind: 'composed', events: e.events.map((x, i) => validateEvent(x, `${at('events')}[${i}]`)) };
    case 'self-composed':
      return {
        kind: 'self-composed',
        event: validateEvent(e.event, at('event')),
        count: integerAtLeast(at('count'), e.count, 0),
      };
    default:
      throw invalidArgument(
        at('kind'),
        'one of "gaussian", "poisson-sampled-gaussian", "sampled-without-replacement-gaussian", "laplace", "composed", "self-composed"',
        e.kind,
      );
  }
}

/**
 * Flattens an event (times `count`) into base events with multiplicities, merging equal ones.
 * Keys are JSON of the base event, so equal parameters share one entry.
 */
export function flattenEvent(
  event: DpEvent,
  count: number,
  into: Map<string, { event: BaseEvent; count: number }>,
): void {
  if (count === 0) return;
  switch (event.kind) {
    case 'composed':
      for (const e of event.events) flattenEvent(e, count, into);
      return;
    case 'self-composed':
      flattenEvent(event.event, count * event.count, into);
      return;
    default: {
      const key = JSON.stringify(event);
      const entry = into.get(key);
      if (entry) entry.count += count;
      else into.set(key, { event, count });
    }
  }
}

/** A ledger given by a caller: an array of { event, count } with counts >= minCount, validated (copies). */
export function checkEntries(name: string, value: unknown, minCount: number): Array<{ event: DpEvent; count: number }> {
  if (!Array.isArray(value)) throw invalidType(name, 'an array of { event, count }', value);
  return (value as unknown[]).map((h, i) => {
    if (typeof h !== 'object' || h === null) throw invalidType(`${name}[${i}]`, 'an object { event, count }', h);
    const entry = h as { event?: unknown; count?: unknown };
    return {
      event: validateEvent(entry.event, `${name}[${i}].event`),
      count: integerAtLeast(`${name}[${i}].count`, entry.count, minCount),
    };
  });
}
