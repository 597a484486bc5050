// Federated evaluation: clients evaluate the global model of a round on their own data and report
// named metrics with their sample count; the server publishes, per round, the sample-weighted mean
// of each metric. Reports are untrusted: every value must be a finite number, the sample count a
// positive integer no larger than what the client registered, the names short identifiers.
import type { EvaluationReport } from '../client/protocol.js';
import { httpError } from './http.js';

const METRIC_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const MAX_METRICS = 32;

export interface EvaluationSummary {
  round: number;
  clients: number;
  samples: number;
  metrics: Record<string, number>;
}

/** Checks a report's body (400 badRequest naming the field on any violation). */
export function checkEvaluation(body: Record<string, unknown>, registeredSamples: number): EvaluationReport {
  const bad = (message: string) => httpError(400, 'badRequest', message);
  const { round, samples, metrics } = body;
  if (!Number.isSafeInteger(round) || (round as number) < 0) throw bad('round must be a non-negative integer');
  if (!Number.isSafeInteger(samples) || (samples as number) < 1 || (samples as number) > registeredSamples)
    throw bad(`samples must be an integer in [1, ${registeredSamples}] (at most the samples registered)`);
  if (typeof metrics !== 'object' || metrics === null || Array.isArray(metrics)) throw bad('metrics must be an object');
  const entries = Object.entries(metrics);
  if (entries.length === 0 || entries.length > MAX_METRICS) throw bad(`metrics must hold 1 to ${MAX_METRICS} values`);
  for (const [name, v] of entries) {
    if (!METRIC_NAME.test(name))
      throw bad(`metric names must match ${METRIC_NAME.source}, received ${JSON.stringify(name.slice(0, 80))}`);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`metrics.${name} must be a finite number`);
  }
  return {
    round: round as number,
    samples: samples as number,
    metrics: Object.fromEntries(entries) as Record<string, number>,
  };
}

/** The sample-weighted mean of each metric over the reports that carry it. */
export function summarise(
  round: number,
  reports: { samples: number; metrics: Record<string, number> }[],
): EvaluationSummary {
  const sums = new Map<string, { weighted: number; samples: number }>();
  let samples = 0;
  for (const r of reports) {
    samples += r.samples;
    for (const [name, v] of Object.entries(r.metrics)) {
      const s = sums.get(name) ?? { weighted: 0, samples: 0 };
      s.weighted += v * r.samples;
      s.samples += r.samples;
      sums.set(name, s);
    }
  }
  const metrics = Object.fromEntries(
    [...sums].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, s]) => [k, s.weighted / s.samples]),
  );
  return { round, clients: reports.length, samples, metrics };
}
